// Pull and push against a real docker-registry, cross-checked with skopeo and umoci both ways.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { createHash } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { LayoutStore } from '../../lib/content/index.js';
import { parseReference, type Descriptor, type ImageManifest } from '../../lib/oci/index.js';
import {
  RegistryError,
  getManifest,
  headManifest,
  pullImage,
  pushImage,
  registryClient,
  resolveDigest,
  type RegistryClient,
  type TransferProgress,
} from '../../lib/registry/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';

const execFileP = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await execFileP('skopeo', args, { maxBuffer: 16 << 20 });
  return stdout;
}

/** go-containerregistry validate-style checks: every blob verifies, diff_ids match the layers. */
async function validateStoredImage(store: LayoutStore, manifestDigest: Descriptor['digest']): Promise<void> {
  const manifest = await store.readJson<ImageManifest>(manifestDigest);
  const config = await store.readJson<{ rootfs: { diff_ids: string[] } }>(manifest.config.digest);
  assert.equal((await store.readBytes(manifest.config.digest)).length, manifest.config.size);
  assert.equal(config.rootfs.diff_ids.length, manifest.layers.length);
  for (const [i, layer] of manifest.layers.entries()) {
    const hash = createHash('sha256');
    await pipeline(
      store.read(layer.digest, { size: layer.size }),
      createGunzip(),
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          hash.update(chunk);
          cb();
        },
      }),
    );
    assert.equal(`sha256:${hash.digest('hex')}`, config.rootfs.diff_ids[i], `diff_id of layer ${i}`);
  }
}

describe('registry round trips (anonymous docker-registry)', () => {
  let reg: RunningRegistry;
  let client: RegistryClient;
  let work: string;
  let seededRef: string;
  let seededManifestDigest: string;

  before(async () => {
    reg = await startRegistry();
    const seeded = await seedBusyboxImage(reg.host);
    seededRef = seeded.ref;
    seededManifestDigest = seeded.layout.manifestDigest;
    client = registryClient();
    work = await mkdtemp(join(tmpdir(), 'tsbuild-reg-rt-'));
  });

  after(async () => {
    await client?.close();
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('pulls a skopeo-pushed image into a layout that umoci and skopeo accept', async () => {
    const store = new LayoutStore(join(work, 'pull1'));
    const events: TransferProgress[] = [];
    const pulled = await pullImage(client, seededRef, store, { refName: 'busybox', onProgress: (p) => events.push(p) });
    assert.equal(pulled.manifestDescriptor.digest, seededManifestDigest);
    assert.equal(pulled.config.architecture, 'amd64');
    assert.equal(pulled.manifest.layers.length, 1);
    assert.ok(events.some((e) => e.phase === 'done'));
    await validateStoredImage(store, pulled.manifestDescriptor.digest);

    const inspect = JSON.parse(await skopeo('inspect', `oci:${store.root}:busybox`)) as { Digest: string; Layers: string[] };
    assert.equal(inspect.Digest, seededManifestDigest);
    assert.deepEqual(
      inspect.Layers,
      pulled.manifest.layers.map((l) => l.digest),
    );

    const bundle = join(work, 'bundle1');
    await execFileP('umoci', ['unpack', '--image', `${store.root}:busybox`, bundle]);
    const passwd = await readFile(join(bundle, 'rootfs', 'etc', 'passwd'), 'utf8');
    assert.match(passwd, /^user:x:1000:1000:/m);
  });

  test('warmUp learns how the registry authenticates before any request needs it; an unreachable registry is left to the request', async () => {
    const fresh = registryClient({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    try {
      assert.equal(fresh.authScheme(reg.host), 'unknown');
      await fresh.warmUp(reg.host);
      assert.equal(fresh.authScheme(reg.host), 'anonymous');
      // Nothing listens on port 1: warmUp resolves all the same; the request reports it.
      await fresh.warmUp('127.0.0.1:1');
      await assert.rejects(getManifest(fresh, parseReference('127.0.0.1:1/x/y:1')), RegistryError);
    } finally {
      await fresh.close();
    }
  });

  test('a second pull skips blobs already in the store', async () => {
    const store = new LayoutStore(join(work, 'pull2'));
    await pullImage(client, seededRef, store);
    const events: TransferProgress[] = [];
    await pullImage(client, seededRef, store, { onProgress: (p) => events.push(p) });
    assert.ok(events.length >= 2);
    assert.ok(
      events.every((e) => e.phase === 'skipped'),
      JSON.stringify(events),
    );
  });

  test('pushes from the store to another repository; skopeo reads it back identically', async () => {
    const store = new LayoutStore(join(work, 'push1'));
    const pulled = await pullImage(client, seededRef, store);
    const dest = `${reg.host}/team/copy:v1`;
    const pushed = await pushImage(client, store, pulled.manifestDescriptor, dest);
    assert.equal(pushed.digest, pulled.manifestDescriptor.digest);

    const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${dest}`)) as { Digest: string };
    assert.equal(inspect.Digest, pushed.digest);
    const back = join(work, 'skopeo-back');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${dest}`, `oci:${back}:copy`);
    const backInspect = JSON.parse(await skopeo('inspect', `oci:${back}:copy`)) as { Digest: string };
    assert.equal(backInspect.Digest, pushed.digest);
    const backStore = new LayoutStore(back);
    await validateStoredImage(backStore, pushed.digest);
  });

  test('a repeated push only HEADs blobs, and a known source repository is mounted', async () => {
    const store = new LayoutStore(join(work, 'push2'));
    const pulled = await pullImage(client, seededRef, store);
    const again: TransferProgress[] = [];
    await pushImage(client, store, pulled.manifestDescriptor, `${reg.host}/team/copy:v1`, { onProgress: (p) => again.push(p) });
    assert.ok(again.length === 2 && again.every((e) => e.phase === 'skipped'), JSON.stringify(again));

    const mounted: TransferProgress[] = [];
    const dest = `${reg.host}/other/mounted:v1`;
    await pushImage(client, store, pulled.manifestDescriptor, dest, { mountFrom: 'library/busybox', onProgress: (p) => mounted.push(p) });
    assert.equal(mounted.filter((e) => e.phase === 'mounted').length, 2, JSON.stringify(mounted));
    const inspect = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${dest}`)) as { Digest: string };
    assert.equal(inspect.Digest, pulled.manifestDescriptor.digest);
  });

  test('large blobs are uploaded in PATCH chunks and verify on the registry', async () => {
    const store = new LayoutStore(join(work, 'push3'));
    const pulled = await pullImage(client, seededRef, store);
    const dest = `${reg.host}/team/chunked:v1`;
    const progress: TransferProgress[] = [];
    // A client that has not seen the pull: it uploads (the pulling one would mount from the source repository).
    const fresh = registryClient({ retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 20 } });
    await pushImage(fresh, store, pulled.manifestDescriptor, dest, {
      monolithicMaxBytes: 1024,
      chunkBytes: 100_000,
      onProgress: (p) => progress.push(p),
    }).finally(() => fresh.close());
    const layer = pulled.manifest.layers[0]!;
    const steps = progress.filter((p) => p.digest === layer.digest && p.phase === 'transferring' && p.bytes > 0);
    assert.ok(steps.length >= Math.floor(layer.size / 100_000), `expected several chunks, saw ${steps.length}`);
    const back = join(work, 'chunked-back');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${dest}`, `oci:${back}:x`);
    await validateStoredImage(new LayoutStore(back), pulled.manifestDescriptor.digest);
  });

  test('HEAD resolves digests; a missing tag is undefined for HEAD and NOT_FOUND for GET', async () => {
    const ref = parseReference(seededRef);
    assert.equal(await resolveDigest(client, ref), seededManifestDigest);
    const desc = await headManifest(client, ref);
    assert.equal(desc?.digest, seededManifestDigest);
    assert.equal(desc?.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    const missing = parseReference(`${reg.host}/library/busybox:nope`);
    assert.equal(await headManifest(client, missing), undefined);
    await assert.rejects(getManifest(client, missing), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.code, 'TSB_REGISTRY_NOT_FOUND');
      assert.equal(err.status, 404);
      assert.ok(err.specCodes.includes('MANIFEST_UNKNOWN'), err.specCodes.join());
      return true;
    });
    const byDigest = await getManifest(client, parseReference(`${reg.host}/library/busybox@${seededManifestDigest}`));
    assert.equal(byDigest.descriptor.digest, seededManifestDigest);
  });
});
