import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdirSync, writeFileSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { layoutStore } from '../content/index.js';
import { MediaType } from '../oci/index.js';
import { writeLayerFromDir, writeLayerFromEntries } from './diff-layer.js';
import { unpackLayer } from './unpack.js';
import { CAPABILITY, makeVariedTree, snapshotTree, tempDir } from '../../test/support/tree-fixtures.js';
import { fsx } from './fsx.js';

test('a tree survives tree → layer → unpack with modes, ids, mtimes, links, devices and xattrs', async () => {
  const tmp = tempDir('roundtrip');
  try {
    const src = join(tmp.path, 'src');
    mkdirSync(src);
    makeVariedTree(src);
    const store = layoutStore(join(tmp.path, 'store'));
    const layer = await writeLayerFromDir(src, store);
    assert.equal(layer.descriptor.mediaType, MediaType.OciLayerGzip);
    assert.equal(layer.empty, false);
    const blob = readFileSync(store.blobPath(layer.descriptor.digest));
    assert.equal(blob.length, layer.descriptor.size);
    const tar = gunzipSync(blob);
    assert.equal(`sha256:${createHash('sha256').update(tar).digest('hex')}`, layer.diffId);
    assert.equal(tar.length, layer.uncompressedSize);

    const dest = join(tmp.path, 'dest');
    mkdirSync(dest);
    const warnings: string[] = [];
    const r = await unpackLayer(createReadStream(store.blobPath(layer.descriptor.digest)), dest, {
      mode: 'apply',
      compression: 'gzip',
      expected: { digest: layer.descriptor.digest, diffId: layer.diffId, size: layer.descriptor.size },
      onWarning: (m) => warnings.push(m),
    });
    assert.deepEqual(warnings, []);
    assert.equal(r.entries, layer.entries);
    const before = snapshotTree(src);
    const after = snapshotTree(dest);
    assert.deepEqual(after, before);
    // Spot checks of what matters most.
    assert.equal(after.bigid!.uid, 3_000_000);
    assert.equal(after['usr/bin/newuidmap']!.mode, 0o4755);
    assert.equal(after['usr/bin/newuidmap']!.xattrs['security.capability'], CAPABILITY.toString('hex'));
    assert.equal(after['usr/bin/newuidmap']!.inode, 'usr/bin/newgidmap'); // one inode, two names
    assert.equal(after.empty!.mtimeNs, 1_600_000_000_123_456_789n);
    assert.equal(after.bigdev!.type, 'block');
  } finally {
    tmp.cleanup();
  }
});

test('GNU tar lists and extracts our layers as we meant them', async () => {
  const tmp = tempDir('gnutar');
  try {
    const src = join(tmp.path, 'src');
    mkdirSync(src);
    makeVariedTree(src);
    const store = layoutStore(join(tmp.path, 'store'));
    const layer = await writeLayerFromDir(src, store);
    const blob = store.blobPath(layer.descriptor.digest);
    execFileSync('gzip', ['-t', blob]);
    const listing = execFileSync('tar', ['--numeric-owner', '-tvzf', blob], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(listing.length, layer.entries);
    const line = (suffix: string): string => listing.find((l) => l.endsWith(suffix)) ?? assert.fail(`no ${suffix} in\n${listing.join('\n')}`);
    assert.match(line(' bigid'), /^-rw-r--r-- 3000000\/3000001 /);
    assert.match(line(' usr/bin/newgidmap'), /^-rwsr-xr-x 0\/0 /);
    assert.match(line(' usr/bin/newuidmap link to usr/bin/newgidmap'), /^hrwsr-xr-x /);
    assert.match(line(' usr/passwd-link -> ../etc/passwd'), /^lrwxrwxrwx /);
    assert.match(line(' tmp/fifo'), /^prw-r--r-- /);
    assert.match(line(' null'), /^crw-rw-rw- 0\/0 +1,3 /);
    assert.match(line(' bigdev'), /^brw------- 0\/0 +4095,1048575 /);
    assert.match(line(' tmp/'), /^drwxrwxrwt /);
    assert.ok(listing.some((l) => l.endsWith(`file-${'y'.repeat(150)}`)));
    assert.ok(listing.some((l) => l.endsWith(`long-link -> target-${'z'.repeat(200)}`)));
    assert.ok(listing.some((l) => l.endsWith('ünïcödé.txt')));
    // Sorted: each entry's parent comes before it, and siblings are in byte order.
    const names = execFileSync('tar', ['-tzf', blob], { encoding: 'utf8' }).trim().split('\n');
    assert.equal(names[0], 'bigdev');

    const out = join(tmp.path, 'gnu-out');
    mkdirSync(out);
    execFileSync('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-xzf', blob, '-C', out]);
    const a = snapshotTree(src);
    const b = snapshotTree(out);
    for (const p of Object.keys(a)) {
      if (a[p]!.type === 'dir') continue; // GNU tar sets directory mtimes its own way
      assert.deepEqual(b[p], a[p], p);
    }
  } finally {
    tmp.cleanup();
  }
});

test('siblings are written in UTF-8 byte order, also with names beyond U+FFFF (where UTF-16 order differs)', async () => {
  const tmp = tempDir('order');
  try {
    // Byte order: B (42) < a (61) < é (c3) < U+E000 (ee) < U+FFFD (ef) < U+1F600 (f0). UTF-16 would put
    // U+1F600 (d83d) before U+E000.
    const expected = ['B', 'a', 'é', '\uE000', '\uFFFD', '\u{1F600}'];
    for (const [dir, names] of [
      ['bmp', expected.slice(0, 5)],
      ['astral', expected],
    ] as const) {
      const src = join(tmp.path, dir);
      mkdirSync(src);
      for (const n of [...names].reverse()) writeFileSync(join(src, n), n);
      const store = layoutStore(join(tmp.path, `store-${dir}`));
      const layer = await writeLayerFromDir(src, store);
      const listed = execFileSync('tar', ['-tzf', store.blobPath(layer.descriptor.digest)], { encoding: 'utf8' })
        .trim()
        .split('\n');
      assert.deepEqual(listed, names);
    }
  } finally {
    tmp.cleanup();
  }
});

test('the same tree gives the same layer digest twice, and SOURCE_DATE_EPOCH clamps mtimes', async () => {
  const tmp = tempDir('determinism');
  try {
    const src = join(tmp.path, 'src');
    mkdirSync(src);
    makeVariedTree(src);
    const store = layoutStore(join(tmp.path, 'store'));
    const one = await writeLayerFromDir(src, store);
    const two = await writeLayerFromDir(src, store);
    assert.equal(two.descriptor.digest, one.descriptor.digest);
    assert.equal(two.diffId, one.diffId);
    const clamped = await writeLayerFromDir(src, store, { sourceDateEpoch: 1_300_000_000 });
    assert.notEqual(clamped.diffId, one.diffId);
    const listing = execFileSync('tar', ['--full-time', '-tvzf', store.blobPath(clamped.descriptor.digest)], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    for (const l of listing.trim().split('\n')) {
      const when = /(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)/.exec(l)![1]!;
      assert.ok(Date.parse(`${when.replace(' ', 'T')}Z`) <= 1_300_000_000_000, l);
    }
    assert.match(listing, /2001-09-09 01:46:40 +etc\/passwd/); // older than the epoch: kept
  } finally {
    tmp.cleanup();
  }
});

test('skip leaves sandbox mount points out; an empty tree is a valid empty layer', async () => {
  const tmp = tempDir('skip');
  try {
    const src = join(tmp.path, 'src');
    for (const d of ['proc/self', 'dev', '.tsbuild/bin', 'app']) mkdirSync(join(src, d), { recursive: true });
    writeFileSync(join(src, 'app/main.js'), 'x');
    writeFileSync(join(src, 'proc/self/status'), 'x');
    const store = layoutStore(join(tmp.path, 'store'));
    const layer = await writeLayerFromDir(src, store, { skip: ['/proc', '/dev', '/.tsbuild'] });
    const names = execFileSync('tar', ['-tzf', store.blobPath(layer.descriptor.digest)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.deepEqual(names, ['app/', 'app/main.js']);

    const emptyDir = join(tmp.path, 'empty');
    mkdirSync(emptyDir);
    const empty = await writeLayerFromDir(emptyDir, store);
    assert.equal(empty.empty, true);
    assert.equal(empty.entries, 0);
    assert.equal(empty.uncompressedSize, 1024);
    execFileSync('gzip', ['-t', store.blobPath(empty.descriptor.digest)]);
    assert.equal(execFileSync('tar', ['-tzf', store.blobPath(empty.descriptor.digest)], { encoding: 'utf8' }), '');
  } finally {
    tmp.cleanup();
  }
});

test('writeLayerFromEntries writes caller-supplied entries', async () => {
  const tmp = tempDir('entries');
  try {
    const store = layoutStore(join(tmp.path, 'store'));
    const base = { mode: 0o644, uid: 0, gid: 0, mtimeSec: 1_700_000_000, mtimeNsec: 0, size: 0 };
    const layer = await writeLayerFromEntries(
      [
        { entry: { ...base, path: 'app', type: 'dir', mode: 0o755 } },
        { entry: { ...base, path: 'app/a.txt', type: 'file', size: 5 }, content: Buffer.from('hello') },
        {
          entry: { ...base, path: 'app/b.txt', type: 'file', size: 6 },
          content: async function* () {
            yield Buffer.from('wor');
            yield Buffer.from('ld\n');
          },
        },
      ],
      store,
    );
    assert.equal(layer.entries, 3);
    const dest = join(tmp.path, 'dest');
    mkdirSync(dest);
    await unpackLayer(createReadStream(store.blobPath(layer.descriptor.digest)), dest, { mode: 'overlay', compression: 'gzip' });
    assert.equal(readFileSync(join(dest, 'app/b.txt'), 'utf8'), 'world\n');
    assert.equal(lstatSync(join(dest, 'app')).mode & 0o777, 0o755);
    await assert.rejects(
      writeLayerFromEntries([{ entry: { ...base, path: 'x', type: 'file', size: 3 }, content: Buffer.from('ab') }], store),
      /2 bytes of content, header says 3/,
    );
    assert.ok(fsx());
  } finally {
    tmp.cleanup();
  }
});
