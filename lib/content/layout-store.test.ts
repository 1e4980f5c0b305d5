import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, readdir, rm, writeFile, utimes, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LayoutStore } from './layout-store.js';
import { gcStore } from './gc.js';
import { acquireLease } from './leases.js';
import { sha256 } from '../digest.js';
import { MediaType } from '../oci/index.js';

const exec = promisify(execFile);

async function withStore(fn: (store: LayoutStore, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-store-'));
  try {
    const store = new LayoutStore(join(dir, 'store'));
    await store.init();
    await fn(store, dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A tiny but valid image (empty layer list) so skopeo/umoci accept the layout. */
async function writeImage(store: LayoutStore, tag: string): Promise<{ mediaType: string; digest: `sha256:${string}`; size: number }> {
  const config = await store.writeJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: [`TAG=${tag}`] } });
  const manifest = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, ...config.info },
    layers: [],
  });
  return { mediaType: MediaType.OciManifest, ...manifest.info };
}

test('write hashes while writing, is idempotent, and stores nothing on a digest mismatch', async () => {
  await withStore(async (store) => {
    const info = await store.writeBytes('hello');
    assert.equal(info.digest, sha256('hello'));
    assert.equal((await store.writeBytes('hello')).digest, info.digest);
    await assert.rejects(
      store.write(Readable.from([Buffer.from('evil')]), { digest: sha256('good') }),
      /digest mismatch: expected sha256:[0-9a-f]{64}, got sha256:/,
    );
    assert.equal(await store.has(sha256('good')), false);
    assert.equal(await store.has(sha256('evil')), false);
    assert.deepEqual(await readdir(join(store.root, '.tmp')), [], 'no temp file left behind');
  });
});

test('append() writes in batches, verifies at commit, and leaves nothing visible before it or on a mismatch', async () => {
  await withStore(async (store) => {
    // 3 MiB + a bit in 64 KiB pieces, as a download arrives: several batched writes plus a tail at commit.
    const pieces = Array.from({ length: 49 }, (_, i) => Buffer.alloc(65536, i));
    const all = Buffer.concat(pieces);
    const w = await store.createWriter();
    for (const p of pieces) w.append(p);
    assert.equal(await store.has(sha256(all)), false, 'not visible before commit');
    const tmp = await readdir(join(store.root, '.tmp'));
    assert.equal(tmp.length, 1, 'the batches so far are in one temp file');
    const info = await w.commit({ digest: sha256(all), size: all.length });
    assert.deepEqual(info, { digest: sha256(all), size: all.length });
    assert.ok((await readFile(store.blobPath(info.digest))).equals(all));
    assert.throws(() => w.append(Buffer.from('late')), /append after commit/);

    const bad = await store.createWriter();
    bad.append(Buffer.from('evil'));
    await assert.rejects(bad.commit({ digest: sha256('good') }), /digest mismatch/);
    const short = await store.createWriter();
    short.append(Buffer.from('abc'));
    await assert.rejects(short.commit({ size: 4 }), /expected 4 bytes, got 3/);
    assert.equal(await store.has(sha256('evil')), false);
    assert.equal(await store.has(sha256('abc')), false);

    const aborted = await store.createWriter();
    aborted.append(Buffer.alloc(2 << 20, 7));
    await aborted.abort();
    assert.deepEqual(await readdir(join(store.root, '.tmp')), [], 'no temp file left behind');

    // One writer is fed one way.
    const mixed = await store.createWriter();
    mixed.append(Buffer.from('x'));
    assert.throws(() => mixed.stream, /stream is used after append/);
    await mixed.abort();
    const empty = await store.createWriter();
    assert.equal((await empty.commit()).digest, sha256(''));
  });
});

test('reads verify digest and size at the end of the stream', async () => {
  await withStore(async (store) => {
    const info = await store.writeBytes('some content');
    await writeFile(store.blobPath(info.digest), 'some c0ntent');
    await assert.rejects(store.readBytes(info.digest), /is corrupt/);
    const chunks: Buffer[] = [];
    await assert.rejects(
      (async () => {
        for await (const c of store.read(info.digest, { size: info.size })) chunks.push(c as Buffer);
      })(),
      /digest mismatch/,
    );
  });
});

test('8 concurrent processes adding 20 references each lose none, and skopeo/umoci read the layout', async () => {
  await withStore(async (store, dir) => {
    const modUrl = new URL('./layout-store.js', import.meta.url).href;
    const script = join(dir, 'adder.mjs');
    await writeFile(
      script,
      `import { LayoutStore } from ${JSON.stringify(modUrl)};
const [root, worker] = process.argv.slice(2);
const store = new LayoutStore(root);
for (let i = 0; i < 20; i++) {
  const config = await store.writeJson({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Env: ['W=' + worker + '-' + i] } });
  const m = await store.writeJson({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config.info }, layers: [] });
  await store.setRef('w' + worker + '-' + i, { mediaType: 'application/vnd.oci.image.manifest.v1+json', ...m.info });
}
`,
    );
    await Promise.all(
      Array.from(
        { length: 8 },
        (_, w) =>
          new Promise<void>((resolve, reject) => {
            const p = spawn(process.execPath, [script, store.root, String(w)], { stdio: ['ignore', 'ignore', 'pipe'] });
            let err = '';
            p.stderr.on('data', (c: Buffer) => (err += c.toString()));
            p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`worker ${w} failed: ${err}`))));
          }),
      ),
    );
    const refs = await store.listRefs();
    assert.equal(refs.length, 160);
    assert.equal(new Set(refs.map((r) => r.name)).size, 160);
    const { stdout } = await exec('umoci', ['ls', '--layout', store.root]);
    assert.equal(stdout.trim().split('\n').length, 160);
    const inspected = JSON.parse((await exec('skopeo', ['inspect', '--config', `oci:${store.root}:w7-19`])).stdout) as { config: { Env: string[] } };
    assert.deepEqual(inspected.config.Env, ['W=7-19']);
  });
});

test('gc removes unreachable blobs, keeps reachable ones and blobs newer than a live lease', async () => {
  await withStore(async (store, dir) => {
    const kept = await writeImage(store, 'kept');
    await store.setRef('kept', kept);
    const orphan = await store.writeBytes('orphan');
    const old = new Date(Date.now() - 3600_000);
    for (const d of await store.listBlobs()) await utimes(store.blobPath(d), old, old);
    const leases = join(dir, 'leases');
    const lease = await acquireLease(leases);
    const fresh = await store.writeBytes('written by a running build');
    const r = await gcStore(store, leases);
    assert.equal(r.removed, 1);
    assert.equal(await store.has(orphan.digest), false);
    assert.equal(await store.has(fresh.digest), true, 'a blob a running build just wrote is kept');
    assert.equal(await store.has(kept.digest), true);
    await lease.release();
    await utimes(store.blobPath(fresh.digest), old, old);
    assert.equal((await gcStore(store, leases)).removed, 1);
    assert.equal(await store.has(fresh.digest), false);
    await exec('umoci', ['ls', '--layout', store.root]);
    assert.match(await readFile(join(store.root, 'index.json'), 'utf8'), /"kept"/);
  });
});

test('re-tagging with the same target does not rewrite index.json; a change by another handle is seen', async () => {
  await withStore(async (store, dir) => {
    const blob = await store.writeJson({ hello: 1 });
    const desc = { mediaType: MediaType.OciManifest, ...blob.info };
    await store.setRef('a:1', desc, { k: 'v' });
    const { stat } = await import('node:fs/promises');
    const index = join(dir, 'store', 'index.json');
    const before = await stat(index);
    await store.setRef('a:1', desc, { k: 'v' });
    assert.equal((await stat(index)).ino, before.ino, 'same target and annotations: no rewrite');
    await store.setRef('a:1', desc, { k: 'w' });
    assert.notEqual((await stat(index)).ino, before.ino, 'changed annotations are written');
    // A second handle (another process) changes the index: the first one's cached parse is not used.
    await new LayoutStore(join(dir, 'store')).setRef('b:1', desc);
    assert.deepEqual((await store.listRefs()).map((r) => r.name).sort(), ['a:1', 'b:1']);
    assert.equal((await store.resolve('a:1'))?.annotations?.k, 'w');
  });
});
