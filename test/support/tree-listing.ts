// Entry-by-entry listings of a root filesystem for the differential applier test: what a stage sees
// (listed by a static busybox inside the bwrap sandbox) and what umoci unpacked (listed from the
// host). Type, mode, owner, size, content hash, link target, mtime to the nanosecond and xattrs.
import assert from 'node:assert/strict';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { fsx } from '../../lib/layer/index.js';
import { BwrapSandbox } from '../../runtime/bwrap-sandbox.js';
import { contentHash } from './random-layers.js';

export interface ListedEntry {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  hash: string;
  link: string;
  /** "<seconds>.<9-digit nanoseconds>" */
  mtime: string;
  /** "name=hex value" pairs, sorted, joined by ";". */
  xattrs: string;
}

const LISTER = '/.tsbuild-list/busybox';

const TYPES: { [k: string]: string } = {
  directory: 'dir',
  'regular file': 'file',
  'regular empty file': 'file',
  'symbolic link': 'symlink',
  fifo: 'fifo',
  'character special file': 'char',
};

/** Seconds of an mtime string ("<sec>.<nsec>"). */
export function mtimeSeconds(mtime: string): number {
  return Number(mtime.split('.')[0]);
}

function nsTime(sec: bigint | number, nsec: bigint | number): string {
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * xattrs of each listed path, read through the same mount the sandbox binds (busybox has no
 * getfattr; overlayfs and the native copy show a process in the sandbox the same inodes).
 */
function addXattrs(root: string, map: Map<string, ListedEntry>): void {
  const fx = fsx();
  for (const [p, r] of map) {
    const abs = p === '.' ? root : join(root, p);
    r.xattrs = fx
      .llistxattr(abs)
      .sort()
      .map((name) => `${name}=${fx.lgetxattr(abs, name)?.toString('hex') ?? ''}`)
      .join(';');
  }
}

/** The root directory itself (key "."): mode, owner, mtime, xattrs. */
async function rootEntry(root: string): Promise<ListedEntry> {
  const st = await lstat(root, { bigint: true });
  return {
    type: 'dir',
    mode: (Number(st.mode) & 0o7777).toString(8),
    uid: String(st.uid),
    gid: String(st.gid),
    size: '',
    hash: '',
    link: '',
    mtime: nsTime(st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n),
    xattrs: '',
  };
}

/**
 * The tree as a stage sees it: listed by a static busybox inside the sandbox. The root directory
 * is read from the host before the sandbox runs (bwrap makes its mount points in it).
 */
export async function listInSandbox(rootfs: string): Promise<Map<string, ListedEntry>> {
  const root = await rootEntry(rootfs);
  const script = [
    'cd /',
    `P='( -path ./proc -o -path ./dev -o -path ./.tsbuild-list ) -prune -o'`,
    "find . -mindepth 1 $P -exec stat -c '%F|%a|%u|%g|%s|%Y|%y|%n' {} + | sed 's/^/S|/'",
    "find . -mindepth 1 $P -type f -exec sha256sum {} + | sed 's/^/H|/'",
    "find . -mindepth 1 $P -type l -exec stat -c '%N' {} + | sed 's/^/L|/'",
  ].join('\n');
  const out: Buffer[] = [];
  let err = '';
  const res = await new BwrapSandbox().run(
    {
      rootfs,
      argv: [LISTER, 'sh', '-c', script],
      env: ['PATH=/nonexistent', 'TZ=UTC0'],
      cwd: '/',
      network: 'none',
      mounts: [{ source: '/bin/busybox', target: LISTER, readonly: true }],
    },
    {
      onOutput: (c, s) => {
        if (s === 'stdout') out.push(c);
        else err += c.toString('utf8');
      },
    },
  );
  assert.equal(res.exitCode, 0, `listing inside the sandbox failed: ${err}`);
  const map = new Map<string, ListedEntry>([['.', root]]);
  const hashes = new Map<string, string>();
  const links = new Map<string, string>();
  // Decoded once: a chunk may end inside a multi-byte character.
  for (const line of Buffer.concat(out).toString('utf8').split('\n')) {
    if (line.startsWith('S|')) {
      const [, type, mode, uid, gid, size, sec, human, ...name] = line.split('|');
      const path = name.join('|').replace(/^\.\//, '');
      // %y is "YYYY-MM-DD hh:mm:ss.nnnnnnnnn +0000": only its fraction is taken.
      const nsec = /:\d\d\.(\d{1,9})/.exec(human!)?.[1]?.padEnd(9, '0') ?? '000000000';
      map.set(path, {
        type: TYPES[type!] ?? type!,
        mode: mode!,
        uid: uid!,
        gid: gid!,
        size: TYPES[type!] === 'file' ? size! : '',
        hash: '',
        link: '',
        mtime: `${sec}.${nsec}`,
        xattrs: '',
      });
    } else if (line.startsWith('H|')) {
      const m = /^H\|([0-9a-f]{64}) {2}\.\/(.*)$/.exec(line);
      if (m) hashes.set(m[2]!, m[1]!);
    } else if (line.startsWith('L|')) {
      const m = /^L\|'\.\/(.*?)' -> '(.*)'$/.exec(line);
      if (m) links.set(m[1]!, m[2]!);
    }
  }
  for (const [p, h] of hashes) {
    const r = map.get(p);
    assert.ok(r, `sha256sum listed ${JSON.stringify(p)}, stat did not`);
    r.hash = h;
  }
  for (const [p, l] of links) {
    const r = map.get(p);
    assert.ok(r, `a link target for ${JSON.stringify(p)}, which stat did not list`);
    r.link = l;
  }
  addXattrs(rootfs, map);
  return map;
}

/** The same listing of a tree (umoci's root filesystem), from the host. */
export async function listTree(root: string): Promise<Map<string, ListedEntry>> {
  const map = new Map<string, ListedEntry>([['.', await rootEntry(root)]]);
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(rel === '' ? root : join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, r);
      const st = await lstat(abs, { bigint: true });
      const type = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isFIFO()
              ? 'fifo'
              : st.isCharacterDevice()
                ? 'char'
                : 'other';
      map.set(r, {
        type,
        mode: type === 'symlink' ? '777' : (Number(st.mode) & 0o7777).toString(8),
        uid: String(st.uid),
        gid: String(st.gid),
        size: type === 'file' ? String(st.size) : '',
        hash: type === 'file' ? contentHash(await readFile(abs)) : '',
        link: type === 'symlink' ? await readlink(abs) : '',
        mtime: nsTime(st.mtimeNs / 1_000_000_000n, st.mtimeNs % 1_000_000_000n),
        xattrs: '',
      });
      if (type === 'dir') await walk(r);
    }
  };
  await walk('');
  addXattrs(root, map);
  return map;
}
