// The image use cases without the CLI, against a real docker-registry: what each leaves in the
// store (names, kinds, leases) and that each closes the registry client it asked for.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { homePaths, type HomePaths } from '../home.js';
import { TSBUILD_ANNOTATION, parseReference, type Descriptor } from '../oci/index.js';
import { registryClient, type RegistryClient } from '../registry/index.js';
import { seedBusyboxImage, type BusyboxLayout } from '../../test/support/base-image.js';
import { startRegistry, type RunningRegistry } from '../../test/support/registry.js';
import { imageLoad, imagePull, imagePush, imageSave, listImages } from './image-transfer.js';

describe('image use cases: pull, push, save, load, list', () => {
  let reg: RunningRegistry;
  let ref: string;
  let layout: BusyboxLayout;
  let dir: string;
  const home = (name: string): HomePaths => homePaths(join(dir, name));
  /** A real client per registry asked for; `closed` records the registries whose client was closed. */
  const clients =
    (closed: string[] = []) =>
    (registry: string): RegistryClient => {
      const client = registryClient({ insecureRegistries: [reg.host] });
      const close = client.close.bind(client);
      client.close = async () => {
        closed.push(registry);
        await close();
      };
      return client;
    };

  before(async () => {
    reg = await startRegistry();
    ({ ref, layout } = await seedBusyboxImage(reg.host));
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-image-use-cases-'));
  });
  after(async () => {
    await reg?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('imagePull names the image by its normalised reference with kind=base, closes its client and holds no lease afterwards', async () => {
    const h = home('pull');
    const closed: string[] = [];
    const phases: string[] = [];
    const pulled = await imagePull({ home: h, ref: parseReference(ref), registry: clients(closed), onProgress: (p) => phases.push(p.phase) });
    assert.equal(pulled.name, ref);
    assert.equal(pulled.descriptor.digest, layout.manifestDigest);
    const stored = await (await openStore(h)).resolve(ref);
    assert.equal(stored?.digest, layout.manifestDigest);
    assert.equal(stored?.annotations?.[TSBUILD_ANNOTATION.kind], 'base');
    assert.deepEqual(closed, [reg.host]);
    assert.ok(phases.includes('done'), phases.join(' '));
    assert.deepEqual(await readdir(join(h.locks, 'leases')), []);
  });

  test('imagePush sends a stored image as it is; a name not in the store fails naming the pull, and the client is closed either way', async () => {
    const h = home('push');
    await imagePull({ home: h, ref: parseReference(ref), registry: clients() });
    const closed: string[] = [];
    const dest = `${reg.host}/copies/busybox:v1`;
    // A short name of the store (as stored) and the reference it normalises to both resolve.
    const pushed = await imagePush({ home: h, src: ref, dest: parseReference(dest), registry: clients(closed) });
    assert.equal(pushed.digest, layout.manifestDigest);
    assert.equal(pushed.reference, dest);
    // What the registry now serves under dest pulls back to the same image.
    const back = await imagePull({ home: home('push-back'), ref: parseReference(dest), registry: clients() });
    assert.equal(back.descriptor.digest, layout.manifestDigest);

    await assert.rejects(imagePush({ home: h, src: 'nothing/here:1', dest: parseReference(dest), registry: clients(closed) }), (err: unknown) => {
      assert.ok(err instanceof TsbuildError, String(err));
      assert.equal(err.code, 'TSB_IMAGE_NOT_FOUND');
      assert.match(err.message, /image nothing\/here:1 is not in the local store/);
      assert.match(err.hint ?? '', /tsbuild image pull nothing\/here:1/);
      return true;
    });
    assert.deepEqual(closed, [reg.host, reg.host]);
  });

  test('imageSave then imageLoad into another home gives the same image under the same name, kind=base; --name renames', async () => {
    const from = home('save');
    await imagePull({ home: from, ref: parseReference(ref), registry: clients() });
    const file = join(dir, 'busybox.tar');
    const saved = await imageSave({ home: from, refs: [ref], output: file, format: 'oci-archive' });
    assert.deepEqual(
      saved.images.map((i) => [i.name, i.descriptor.digest]),
      [[ref, layout.manifestDigest]],
    );
    assert.equal(saved.file, file);
    assert.ok(saved.blobs >= 3 && saved.bytes > 0, `${saved.blobs} blobs, ${saved.bytes} bytes`);
    await assert.rejects(
      imageSave({ home: from, refs: [ref], output: file, format: 'zip' }),
      (err: unknown) => err instanceof TsbuildError && err.code === 'TSB_USAGE',
    );

    const to = home('load');
    const loaded = await imageLoad({ home: to, input: file });
    assert.equal(loaded.format, 'oci-archive');
    assert.deepEqual(
      loaded.images.map((i) => [i.names, i.descriptor.digest]),
      [[[ref], layout.manifestDigest]],
    );
    const renamed = await imageLoad({ home: to, input: file, name: parseReference('example.com/renamed:1') });
    assert.deepEqual(renamed.images[0]?.names, ['example.com/renamed:1']);
    assert.deepEqual(
      (await listImages(to)).map((i) => [i.name, i.kind, i.digest]),
      [
        [ref, 'base', layout.manifestDigest],
        ['example.com/renamed:1', 'base', layout.manifestDigest],
      ],
    );
    assert.deepEqual(await readdir(join(to.locks, 'leases')), []);
  });

  test('listImages: sorted by name, kinds as stored (results of artifacts and final: false marked), stages only with all, no size when a blob is unreadable', async () => {
    const h = home('list');
    await imagePull({ home: h, ref: parseReference(ref), registry: clients() });
    const store = await openStore(h);
    const image = (await store.resolve(ref))!;
    const k = TSBUILD_ANNOTATION;
    await store.setRef('p/app:latest', image, { [k.kind]: 'final' });
    await store.setRef('p/tool:latest', image, { [k.kind]: 'final', [k.final]: 'false', [k.artifact]: 'true' });
    await store.setRef('p/hidden:latest', image, { [k.kind]: 'final', [k.final]: 'false' });
    await store.setRef('p/stage:abc', image, { [k.kind]: 'stage' });
    const missing: Descriptor = { ...image, digest: `sha256:${'0'.repeat(64)}` };
    await store.setRef('a/gone:1', missing, {});
    const all = await listImages(h, { all: true });
    assert.deepEqual(
      all.map((i) => [i.name, i.kind]),
      [
        [ref, 'base'],
        ['a/gone:1', ''],
        ['p/app:latest', 'final'],
        ['p/hidden:latest', 'not final'],
        ['p/stage:abc', 'stage'],
        ['p/tool:latest', 'artifact (not final)'],
      ],
    );
    assert.equal(all[1]?.size, undefined);
    const size = all[0]?.size;
    assert.ok(size !== undefined && size > image.size, `manifest, config and layers: ${size}`);
    assert.deepEqual(
      (await listImages(h)).map((i) => i.name),
      all.map((i) => i.name).filter((n) => n !== 'p/stage:abc'),
    );
  });
});
