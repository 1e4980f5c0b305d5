// Test support for the layer tests: temp dirs, a varied tree, and a comparable snapshot of a tree.
import {
  mkdtempSync,
  rmSync,
  lstatSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
  mkdirSync,
  symlinkSync,
  linkSync,
  chownSync,
  lchownSync,
  chmodSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fsx } from '../../lib/layer/index.js';

export function tempDir(prefix: string): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), `tsbuild-${prefix}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export const CAPABILITY = Buffer.from('0100000280000000000000000000000000000000', 'hex'); // cap_setuid, byte 0x80

/** A tree with every entry kind the layer format carries (needs root for ownership and devices). */
export function makeVariedTree(root: string): void {
  const fx = fsx();
  mkdirSync(join(root, 'etc/deep/er'), { recursive: true });
  writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(root, 'etc/deep/er/data.bin'), createHash('sha512').update('x').digest());
  mkdirSync(join(root, 'usr/bin'), { recursive: true });
  writeFileSync(join(root, 'usr/bin/newuidmap'), 'ELF pretend');
  chmodSync(join(root, 'usr/bin/newuidmap'), 0o4755);
  fx.lsetxattr(join(root, 'usr/bin/newuidmap'), 'security.capability', CAPABILITY);
  fx.lsetxattr(join(root, 'usr/bin/newuidmap'), 'user.bin', Buffer.from([0x00, 0xff, 0x80, 0x0a, 0x3d]));
  linkSync(join(root, 'usr/bin/newuidmap'), join(root, 'usr/bin/newgidmap'));
  symlinkSync('../etc/passwd', join(root, 'usr/passwd-link'));
  symlinkSync('/nonexistent/absolute', join(root, 'usr/dangling'));
  lchownSync(join(root, 'usr/dangling'), 12, 34);
  writeFileSync(join(root, 'bigid'), 'owned by a large id\n');
  chownSync(join(root, 'bigid'), 3_000_000, 3_000_001);
  mkdirSync(join(root, 'tmp'));
  chmodSync(join(root, 'tmp'), 0o1777);
  execFileSync('mkfifo', [join(root, 'tmp/fifo')]);
  fx.mknod(join(root, 'null'), 0o20666, 1, 3);
  chmodSync(join(root, 'null'), 0o666);
  fx.mknod(join(root, 'bigdev'), 0o60600, 4095, 1048575);
  const long = join(root, ...Array.from({ length: 4 }, (_, i) => `component-${i}-${'x'.repeat(60)}`));
  mkdirSync(long, { recursive: true });
  writeFileSync(join(long, `file-${'y'.repeat(150)}`), 'long');
  symlinkSync(`target-${'z'.repeat(200)}`, join(long, 'long-link'));
  writeFileSync(join(root, 'ünïcödé.txt'), 'utf8 name');
  writeFileSync(join(root, 'empty'), '');
  const big = Buffer.alloc(3 * 1024 * 1024 + 123);
  for (let i = 0; i < big.length; i += 4096) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(root, 'large.bin'), big);
  // Old and fractional mtimes (the latter survive only through PAX).
  fx.lutimes(join(root, 'etc/passwd'), 0, 0, 1_000_000_000, 0);
  fx.lutimes(join(root, 'empty'), 0, 0, 1_600_000_000, 123_456_789);
  fx.lutimes(join(root, 'usr/passwd-link'), 0, 0, 1_500_000_000, 5);
  fx.lutimes(join(root, 'etc/deep'), 0, 0, 1_234_567_890, 999_999_999);
}

export interface NodeInfo {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtimeNs?: bigint;
  size?: number;
  content?: string;
  link?: string;
  rdev?: number;
  xattrs: Record<string, string>;
  /** Hardlink group: the first path (in walk order) with the same inode. */
  inode?: string;
}

/** Everything a layer round trip must preserve, keyed by relative path. Directory mtimes included. */
export function snapshotTree(root: string, opts: { ignoreXattrs?: RegExp } = {}): Record<string, NodeInfo> {
  const fx = fsx();
  const out: Record<string, NodeInfo> = {};
  const inodes = new Map<bigint, string>();
  const walk = (dir: string, rel: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      const st = lstatSync(abs, { bigint: true });
      const xattrs: Record<string, string> = {};
      for (const x of fx.llistxattr(abs).sort()) {
        if (opts.ignoreXattrs?.test(x)) continue;
        xattrs[x] = fx.lgetxattr(abs, x)?.toString('hex') ?? '';
      }
      const info: NodeInfo = { type: '', mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), xattrs };
      if (st.isDirectory()) info.type = 'dir';
      else if (st.isFile()) {
        info.type = 'file';
        info.size = Number(st.size);
        info.content = createHash('sha256').update(readFileSync(abs)).digest('hex');
        if (st.nlink > 1n) {
          info.inode = inodes.get(st.ino) ?? r;
          inodes.set(st.ino, info.inode);
        }
      } else if (st.isSymbolicLink()) {
        info.type = 'symlink';
        info.link = readlinkSync(abs);
      } else if (st.isFIFO()) info.type = 'fifo';
      else if (st.isCharacterDevice()) info.type = 'char';
      else if (st.isBlockDevice()) info.type = 'block';
      if (info.type === 'char' || info.type === 'block') info.rdev = Number(st.rdev);
      if (info.type !== 'symlink') info.mtimeNs = st.mtimeNs;
      else info.mtimeNs = st.mtimeNs;
      out[r] = info;
      if (st.isDirectory()) walk(abs, r);
    }
  };
  walk(root, '');
  return out;
}
