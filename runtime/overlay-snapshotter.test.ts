// A committed stage's upper dir is kept as its layer's dir instead of unpacking the stored blob
// again. Differential check: the kept dir equals a fresh overlay-mode unpack of the blob entry by
// entry (type, mode, owner, mtime, size, content, link target, device, xattrs, hardlinks), and the
// next stage sees the same tree on a snapshotter that unpacked the layer instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { appendFile, chmod, chown, lstat, mkdir, readFile, readdir, readlink, rm, symlink, link, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../lib/content/index.js';
import { fsx, unpackLayer, writeLayerFromEntries, type LayerEntrySource } from '../lib/layer/index.js';
import type { LayerSource } from '../lib/sandbox/index.js';
import { digestHex } from '../lib/digest.js';
import { OverlaySnapshotter } from './overlay-snapshotter.js';
import { tempDirs } from '../test/support/cli.js';

const exec = promisify(execFile);
const T0 = 1_600_000_000;

function entry(path: string, type: 'file' | 'dir' | 'symlink', extra: Partial<LayerEntrySource['entry']> = {}): LayerEntrySource['entry'] {
  return { path, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, size: 0, mtimeSec: T0, mtimeNsec: 0, ...extra };
}

function file(path: string, text: string, extra: Partial<LayerEntrySource['entry']> = {}): LayerEntrySource {
  const content = Buffer.from(text);
  return { entry: entry(path, 'file', { size: content.length, ...extra }), content };
}

/** Every entry of a tree with what a lowerdir shows of it; hardlinks as groups of names. */
async function describeTree(root: string): Promise<{ entries: Map<string, string>; links: string[] }> {
  const fx = fsx();
  const entries = new Map<string, string>();
  const inodes = new Map<number, string[]>();
  const walk = async (rel: string): Promise<void> => {
    const abs = rel === '' ? root : join(root, rel);
    const st = await lstat(abs, { bigint: true });
    const xattrs = fx
      .llistxattr(abs)
      .sort()
      .map((x) => `${x}=${fx.lgetxattr(abs, x)?.toString('hex')}`);
    let detail = '';
    if (st.isFile()) {
      detail = createHash('sha256')
        .update(await readFile(abs))
        .digest('hex');
      if (st.nlink > 1n) inodes.set(Number(st.ino), [...(inodes.get(Number(st.ino)) ?? []), rel]);
    } else if (st.isSymbolicLink()) detail = await readlink(abs);
    else if (st.isCharacterDevice() || st.isBlockDevice()) detail = `rdev ${st.rdev}`;
    // The root's own times are no layer's business (the next stage's upper dir shows its root), nor
    // are a whiteout's (a stage never sees it; the layer records none).
    const whiteout = st.isCharacterDevice() && st.rdev === 0n;
    const times = rel === '' || whiteout ? '' : ` mtime ${st.mtimeNs}`;
    const type = st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : st.isCharacterDevice() ? 'char' : 'other';
    const mode = type === 'char' ? '' : (Number(st.mode) & 0o7777).toString(8);
    entries.set(rel || '.', `${type} ${mode} ${st.uid}:${st.gid} size ${type === 'file' ? st.size : '-'}${times} ${detail} [${xattrs.join(' ')}]`);
    if (st.isDirectory()) for (const name of (await readdir(abs)).sort()) await walk(rel === '' ? name : `${rel}/${name}`);
  };
  await walk('');
  return { entries, links: [...inodes.values()].map((g) => g.sort().join(' = ')).sort() };
}

function differences(a: Map<string, string>, b: Map<string, string>): string[] {
  const out: string[] = [];
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) out.push(`${k}:\n  kept:     ${a.get(k)}\n  unpacked: ${b.get(k)}`);
  return out;
}

describe('overlay snapshotter: a committed upper dir serves as its layer dir', { skip: process.getuid?.() !== 0 && 'mounting overlayfs needs root' }, () => {
  const temps = tempDirs();
  let work: string;
  let store: LayoutStore;
  let base: LayerSource;

  before(async () => {
    work = await temps.make('overlay-adopt');
    store = new LayoutStore(join(work, 'layout'));
    await store.init();
    const r = await writeLayerFromEntries(
      [
        { entry: entry('data', 'dir') },
        file('data/keep.txt', 'kept\n'),
        file('data/append.txt', 'one\n'),
        file('data/chmod.txt', 'mode\n'),
        file('data/gone.txt', 'deleted later\n'),
        file('data/owned.txt', 'owner\n', { uid: 1234, gid: 5678 }),
        { entry: entry('data/old', 'dir') },
        file('data/old/a', 'a\n'),
        file('data/old/b', 'b\n'),
        { entry: entry('data/link', 'symlink', { linkname: 'keep.txt' }) },
      ],
      store,
    );
    base = { diffId: r.diffId, descriptor: r.descriptor, open: () => store.read(r.descriptor.digest, { size: r.descriptor.size }) };
  });
  after(() => temps.cleanup());

  /** Prepare a snapshot on `parents`, let `change` modify its rootfs, commit it: the new layer. */
  async function stage(
    snap: OverlaySnapshotter,
    key: string,
    parents: LayerSource[],
    change: (root: string) => Promise<void>,
    epoch?: number,
  ): Promise<LayerSource> {
    const prepared = await snap.prepare(key, parents);
    try {
      await change(prepared.rootfs);
      const c = await snap.commit(key, { skip: ['/proc'], pruneIfEmpty: ['/proc'], ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}) });
      return { diffId: c.diffId, descriptor: c.descriptor, open: () => store.read(c.descriptor.digest, { size: c.descriptor.size }) };
    } finally {
      await snap.remove(key);
    }
  }

  const changes = async (root: string): Promise<void> => {
    await appendFile(join(root, 'data/append.txt'), 'two\n'); // copy-up: overlay notes its origin
    await chmod(join(root, 'data/chmod.txt'), 0o600);
    await chown(join(root, 'data/owned.txt'), 4321, 8765);
    await rm(join(root, 'data/gone.txt')); // whiteout
    await rm(join(root, 'data/old'), { recursive: true });
    await mkdir(join(root, 'data/old')); // opaque dir
    await writeFile(join(root, 'data/old/new'), 'new\n');
    await mkdir(join(root, 'data/new/deep'), { recursive: true });
    await writeFile(join(root, 'data/new/deep/file'), 'x'.repeat(100_000));
    await link(join(root, 'data/new/deep/file'), join(root, 'data/new/hard'));
    await symlink('../keep.txt', join(root, 'data/new/sym'));
    await exec('mkfifo', [join(root, 'data/new/fifo')]);
    fsx().lsetxattr(join(root, 'data/new/deep/file'), 'user.note', Buffer.from('kept'));
    // Left out of the layer (a sandbox mount point with something in it), so out of the kept dir too.
    await mkdir(join(root, 'proc/self'), { recursive: true });
    await writeFile(join(root, 'proc/self/status'), 'mounted\n');
  };

  for (const epoch of [undefined, T0 + 10]) {
    test(`the kept upper dir equals an unpack of the stored layer${epoch === undefined ? '' : ' (mtimes clamped to SOURCE_DATE_EPOCH)'}`, async () => {
      const root = join(work, `snapshots-${epoch ?? 'none'}`);
      const snap = new OverlaySnapshotter(root, store);
      const layer = await stage(snap, 'one', [base], changes, epoch);
      const kept = join(root, 'layers', digestHex(layer.diffId), 'fs');
      assert.ok((await lstat(kept)).isDirectory(), 'the upper dir was kept as the layer dir');
      const fresh = join(work, `fresh-${epoch ?? 'none'}`);
      await mkdir(fresh);
      await unpackLayer(layer.open(), fresh, { mode: 'overlay', compression: 'gzip' });
      const a = await describeTree(kept);
      const b = await describeTree(fresh);
      assert.deepEqual(differences(a.entries, b.entries), []);
      assert.deepEqual(a.links, b.links);
      assert.deepEqual(a.links, ['data/new/deep/file = data/new/hard']);
      if (epoch !== undefined) assert.match(a.entries.get('data/new/deep/file')!, new RegExp(`mtime ${epoch}000000000 `));
      assert.equal(a.entries.get('data/gone.txt'), b.entries.get('data/gone.txt'));
      assert.match(a.entries.get('data/gone.txt')!, /^char .* rdev 0 /);
      assert.match(a.entries.get('data/old')!, /trusted\.overlay\.opaque=79\]/);
    });
  }

  test('the next stage sees the same tree on the kept dir as on the unpacked layer', async () => {
    const keptRoot = join(work, 'snapshots-next-kept');
    const snap = new OverlaySnapshotter(keptRoot, store);
    const layer = await stage(snap, 'one', [base], changes);
    // Another home with the same store unpacks the layer from the blob.
    const other = new OverlaySnapshotter(join(work, 'snapshots-next-unpacked'), store);
    const views: Array<Map<string, string>> = [];
    for (const [s, key] of [
      [snap, 'two-kept'],
      [other, 'two-unpacked'],
    ] as const) {
      const prepared = await s.prepare(key, [base, layer]);
      try {
        const { entries } = await describeTree(prepared.rootfs);
        entries.delete('.');
        views.push(entries);
      } finally {
        await s.remove(key);
      }
    }
    assert.deepEqual(differences(views[0]!, views[1]!), []);
    assert.equal(views[0]!.has('data/gone.txt'), false);
    assert.equal(views[0]!.has('data/old/a'), false);
    assert.equal(views[0]!.has('proc'), false);
    assert.match(views[0]!.get('data/append.txt')!, new RegExp(createHash('sha256').update('one\ntwo\n').digest('hex')));
  });

  test('overlays are mounted and unmounted by this process (no mount program); TSBUILD_NATIVE_MOUNTS=0 uses the programs, same view', async () => {
    // mount and umount on PATH log each run, then run the real ones.
    const shim = join(work, 'mount-shim');
    const log = join(work, 'mount-calls.log');
    await mkdir(shim, { recursive: true });
    for (const tool of ['mount', 'umount']) {
      const real = (await exec('sh', ['-c', `command -v ${tool}`])).stdout.trim();
      await writeFile(join(shim, tool), `#!/bin/sh\necho ${tool} >> ${log}\nexec ${real} "$@"\n`);
      await chmod(join(shim, tool), 0o755);
    }
    const saved = { PATH: process.env.PATH, TSBUILD_NATIVE_MOUNTS: process.env.TSBUILD_NATIVE_MOUNTS };
    const views: Array<Map<string, string>> = [];
    const calls: string[] = [];
    try {
      process.env.PATH = `${shim}:${saved.PATH}`;
      for (const native of [true, false]) {
        if (native) delete process.env.TSBUILD_NATIVE_MOUNTS;
        else process.env.TSBUILD_NATIVE_MOUNTS = '0';
        await rm(log, { force: true });
        const root = join(work, `snapshots-mounts-${native}`);
        const snap = new OverlaySnapshotter(root, store);
        // A fixed SOURCE_DATE_EPOCH: the two stages' files are written at different times.
        const layer = await stage(snap, 'one', [base], changes, T0 + 100);
        const prepared = await snap.prepare('two', [base, layer]);
        try {
          const { entries } = await describeTree(prepared.rootfs);
          entries.delete('.');
          views.push(entries);
        } finally {
          await snap.remove('two');
        }
        const mounted = (await readFile('/proc/self/mountinfo', 'utf8')).split('\n').filter((l) => l.includes(root));
        assert.deepEqual(mounted, [], 'every overlay was unmounted');
        calls.push((await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).sort().join(' '));
      }
    } finally {
      process.env.PATH = saved.PATH;
      if (saved.TSBUILD_NATIVE_MOUNTS === undefined) delete process.env.TSBUILD_NATIVE_MOUNTS;
      else process.env.TSBUILD_NATIVE_MOUNTS = saved.TSBUILD_NATIVE_MOUNTS;
    }
    assert.deepEqual(calls, ['', 'mount mount umount umount'], 'native: no program; programs: one mount and one umount per snapshot');
    assert.deepEqual(differences(views[0]!, views[1]!), []);
    assert.equal(views[0]!.has('data/gone.txt'), false);
  });

  test("an opaque marker a stage set in the other xattr namespace is not kept as the mount's own", async () => {
    const root = join(work, 'snapshots-user-opaque');
    const snap = new OverlaySnapshotter(root, store);
    // On a trusted.overlay.* mount, user.overlay.opaque is a stage's own xattr; the layer still marks
    // the dir opaque, so the unpacked layer dir (trusted.overlay.opaque) is what must be used.
    const layer = await stage(snap, 'one', [base], async (rootfs) => {
      fsx().lsetxattr(join(rootfs, 'data/old'), 'user.overlay.opaque', Buffer.from('y'));
    });
    await assert.rejects(lstat(join(root, 'layers', digestHex(layer.diffId), 'fs')), { code: 'ENOENT' });
    const other = new OverlaySnapshotter(join(work, 'snapshots-user-opaque-unpacked'), store);
    const views: Array<Map<string, string>> = [];
    for (const s of [snap, other]) {
      const prepared = await s.prepare('two', [base, layer]);
      try {
        const { entries } = await describeTree(prepared.rootfs);
        entries.delete('.');
        views.push(entries);
      } finally {
        await s.remove('two');
      }
    }
    assert.deepEqual(differences(views[0]!, views[1]!), []);
  });

  test('an upper dir a layer cannot describe (a socket) is not kept; the layer is unpacked instead', async () => {
    const root = join(work, 'snapshots-socket');
    const snap = new OverlaySnapshotter(root, store);
    const layer = await stage(snap, 'one', [base], async (rootfs) => {
      await writeFile(join(rootfs, 'data/plain'), 'plain\n');
      await exec('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', join(rootfs, 'data/sock')]);
    });
    const dir = join(root, 'layers', digestHex(layer.diffId), 'fs');
    await assert.rejects(lstat(dir), { code: 'ENOENT' });
    const prepared = await snap.prepare('two', [base, layer]);
    try {
      assert.equal(await readFile(join(prepared.rootfs, 'data/plain'), 'utf8'), 'plain\n');
      await assert.rejects(lstat(join(prepared.rootfs, 'data/sock')), { code: 'ENOENT' });
    } finally {
      await snap.remove('two');
    }
  });
});
