import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { LayoutStore } from '../content/index.js';
import { sha256, type Digest } from '../digest.js';
import { encodeEntryHeader, END_OF_ARCHIVE, padding } from '../layer/index.js';
import { MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageManifest } from '../oci/index.js';
import { TarFileWriter, familiarName, parseArchiveFormat } from './archive.js';
import { saveImageArchive } from './archive-save.js';
import { loadImageArchive } from './archive-load.js';

/** A tar with the given files (our own writer), as a layer body. */
function tarOf(files: Record<string, Buffer>): Buffer {
  const parts: Buffer[] = [];
  for (const [path, data] of Object.entries(files)) {
    parts.push(
      encodeEntryHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size: data.length, mtimeSec: 1, mtimeNsec: 0 }),
      data,
      Buffer.alloc(padding(data.length)),
    );
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

interface Fixture {
  descriptor: Descriptor;
  manifest: ImageManifest;
  layerTars: Buffer[];
}

async function makeImage(store: LayoutStore, name: string, seed: string): Promise<Fixture> {
  const layerTars = [tarOf({ 'a.txt': Buffer.from(`hello ${seed}\n`) }), tarOf({ 'big.bin': randomBytes(300_000) })];
  const layers: Descriptor[] = [];
  for (const t of layerTars) {
    const gz = gzipSync(t);
    const info = await store.writeBytes(gz);
    layers.push({ mediaType: MediaType.OciLayerGzip, ...info });
  }
  const config = await store.writeJson({
    architecture: 'amd64',
    os: 'linux',
    config: { Cmd: ['sh'] },
    rootfs: { type: 'layers', diff_ids: layerTars.map((t) => sha256(t)) },
  });
  const manifest: ImageManifest = { schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, ...config.info }, layers };
  const m = await store.writeJson(manifest);
  const descriptor = { mediaType: MediaType.OciManifest, ...m.info };
  await store.setRef(name, descriptor, { 'dev.tsbuild.kind': 'base' });
  return { descriptor, manifest, layerTars };
}

async function writeTar(file: string, entries: Array<[string, Buffer]>, symlinks: Array<[string, string]> = []): Promise<void> {
  const out = createWriteStream(file);
  const tar = new TarFileWriter(out);
  for (const [p, d] of entries) await tar.file(p, d);
  for (const [p, target] of symlinks) {
    out.write(encodeEntryHeader({ path: p, type: 'symlink', linkname: target, mode: 0o777, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0 }));
  }
  await tar.finish();
  await new Promise<void>((r) => out.end(r));
}

describe('image archives', () => {
  let dir: string;
  let src: LayoutStore;
  let image: Fixture;
  const NAME = 'registry.example.com/team/app:1.0';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-archive-'));
    src = new LayoutStore(join(dir, 'src'));
    image = await makeImage(src, NAME, 'one');
    await makeImage(src, 'proj/web:latest', 'two');
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('format names are checked', () => {
    assert.equal(parseArchiveFormat('docker-archive'), 'docker-archive');
    assert.throws(() => parseArchiveFormat('tar'), /unknown archive format "tar"/);
    assert.equal(familiarName({ registry: 'docker.io', repository: 'library/busybox', tag: 'latest' }), 'busybox:latest');
    assert.equal(familiarName({ registry: 'docker.io', repository: 'team/app', tag: 'v1' }), 'team/app:v1');
  });

  for (const format of ['oci-archive', 'docker-archive'] as const) {
    test(`${format}: save then load gives the same image under the same names`, async () => {
      const file = join(dir, `rt-${format}.tar`);
      const web = (await src.resolve('proj/web:latest'))!;
      const res = await saveImageArchive(
        src,
        [
          { name: NAME, descriptor: image.descriptor },
          { name: 'proj/web:latest', descriptor: web },
        ],
        file,
        { format },
      );
      assert.ok(res.bytes > 300_000);
      const dest = new LayoutStore(join(dir, `dest-${format}`));
      const loaded = await loadImageArchive(dest, file, { annotations: { 'dev.tsbuild.kind': 'base' } });
      assert.equal(loaded.format, format);
      const names = loaded.images.flatMap((i) => i.names).sort();
      // Names are normalised references, the convention base images are found by.
      assert.deepEqual(names, ['docker.io/proj/web:latest', NAME].sort());
      const d = (await dest.resolve(NAME))!;
      assert.equal(d.annotations?.['dev.tsbuild.kind'], 'base');
      const m = await dest.readJson<ImageManifest>(d.digest);
      // Layers and config are carried byte for byte (docker-archive gets a new OCI manifest over them).
      assert.deepEqual(
        m.layers.map((l) => [l.digest, l.size, l.mediaType]),
        image.manifest.layers.map((l) => [l.digest, l.size, l.mediaType]),
      );
      assert.equal(m.config.digest, image.manifest.config.digest);
      if (format === 'oci-archive') assert.equal(d.digest, image.descriptor.digest);
      for (const l of m.layers) assert.ok(await dest.has(l.digest));
    });
  }

  test('oci-archive index.json names each image with ref.name and the containerd name', async () => {
    const file = join(dir, 'names.tar');
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], file, { format: 'oci-archive' });
    const text = (await readFile(file)).toString('latin1');
    const start = text.indexOf('{"schemaVersion"');
    const index = JSON.parse(text.slice(start, text.indexOf('\0', start))) as { manifests: Descriptor[] };
    assert.equal(index.manifests[0]!.annotations?.[REF_NAME_ANNOTATION], NAME);
    assert.equal(index.manifests[0]!.annotations?.['io.containerd.image.name'], NAME);
  });

  test('saving the same images twice gives the same bytes', async () => {
    const a = join(dir, 'same-a.tar');
    const b = join(dir, 'same-b.tar');
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], a, { format: 'oci-archive' });
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], b, { format: 'oci-archive' });
    assert.ok((await readFile(a)).equals(await readFile(b)));
  });

  test('a corrupted blob fails the load naming the file, and nothing is referenced', async () => {
    const file = join(dir, 'corrupt.tar');
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], file, { format: 'oci-archive' });
    const bytes = await readFile(file);
    // Flip a byte inside the 300 kB random layer.
    const at = bytes.length - 200_000;
    bytes[at] = bytes[at]! ^ 0xff;
    await writeFile(file, bytes);
    const dest = new LayoutStore(join(dir, 'dest-corrupt'));
    await assert.rejects(loadImageArchive(dest, file), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'TSB_DIGEST_MISMATCH');
      assert.match(err.message, /the archive is corrupt: blobs\/sha256\/[a-f0-9]{64} hashes to sha256:/);
      assert.match(err.hint ?? '', /again/);
      return true;
    });
    assert.deepEqual(await dest.listRefs(), []);
  });

  test('a truncated archive fails with a clear message, and nothing is referenced', async () => {
    const file = join(dir, 'truncated.tar');
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], file, { format: 'docker-archive' });
    await truncate(file, 150_000);
    const dest = new LayoutStore(join(dir, 'dest-trunc'));
    await assert.rejects(loadImageArchive(dest, file), /is not a valid image archive: .*truncated/);
    assert.deepEqual(await dest.listRefs(), []);
    // No temp files are left behind.
    const { readdir } = await import('node:fs/promises');
    assert.deepEqual(await readdir(join(dest.root, '.tmp')), []);
  });

  test('an archive missing a layer is refused as incomplete', async () => {
    const file = join(dir, 'incomplete.tar');
    const m = Buffer.from(JSON.stringify(image.manifest));
    const cfg = await src.readBytes(image.manifest.config.digest);
    const index = { schemaVersion: 2, manifests: [{ ...image.descriptor, annotations: { [REF_NAME_ANNOTATION]: NAME } }] };
    await writeTar(file, [
      ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
      ['index.json', Buffer.from(JSON.stringify(index))],
      [`blobs/sha256/${image.descriptor.digest.slice(7)}`, m],
      [`blobs/sha256/${image.manifest.config.digest.slice(7)}`, cfg],
    ]);
    const dest = new LayoutStore(join(dir, 'dest-incomplete'));
    await assert.rejects(loadImageArchive(dest, file), /incomplete or inconsistent: layer sha256:[a-f0-9]+ is missing; nothing was loaded/);
    assert.deepEqual(await dest.listRefs(), []);
  });

  test('an image without a name needs --name; a bare-tag ref.name is not a name', async () => {
    const file = join(dir, 'unnamed.tar');
    await saveImageArchive(src, [{ name: 'latest', descriptor: image.descriptor }], file, { format: 'oci-archive' });
    const dest = new LayoutStore(join(dir, 'dest-unnamed'));
    await assert.rejects(loadImageArchive(dest, file), (err: Error & { hint?: string }) => {
      assert.match(err.message, /has no name/);
      assert.match(err.hint ?? '', /--name/);
      return true;
    });
    assert.deepEqual(await dest.listRefs(), []);
    const res = await loadImageArchive(dest, file, { name: 'docker.io/library/named:v1' });
    assert.deepEqual(res.images[0]!.names, ['docker.io/library/named:v1']);
  });

  test("a name with a digest must be the image's own digest", async () => {
    const file = join(dir, 'digest-named.tar');
    await saveImageArchive(src, [{ name: 'latest', descriptor: image.descriptor }], file, { format: 'oci-archive' });
    const dest = new LayoutStore(join(dir, 'dest-digest-named'));
    const other = `sha256:${'0'.repeat(64)}`;
    await assert.rejects(loadImageArchive(dest, file, { name: `registry.example.com/base@${other}` }), (err: Error & { hint?: string }) => {
      assert.match(err.message, /the name's digest is not the image's; nothing was loaded/);
      assert.match(err.hint ?? '', new RegExp(`its own digest ${image.descriptor.digest}`));
      return true;
    });
    assert.deepEqual(await dest.listRefs(), []);
    const own = `registry.example.com/base@${image.descriptor.digest}`;
    const res = await loadImageArchive(dest, file, { name: own });
    assert.deepEqual(res.images[0]!.names, [own]);
  });

  test('a gzip-compressed archive loads', async () => {
    const file = join(dir, 'plain.tar');
    await saveImageArchive(src, [{ name: NAME, descriptor: image.descriptor }], file, { format: 'oci-archive' });
    await writeFile(`${file}.gz`, gzipSync(await readFile(file)));
    const dest = new LayoutStore(join(dir, 'dest-gz'));
    const res = await loadImageArchive(dest, `${file}.gz`);
    assert.equal(res.images[0]!.descriptor.digest, image.descriptor.digest);
  });

  test('legacy docker save layout: <id>/layer.tar (uncompressed, via symlink) checked against diff_ids', async () => {
    const cfg = await src.readBytes(image.manifest.config.digest);
    const cfgName = `${image.manifest.config.digest.slice(7)}.json`;
    const manifestJson = [{ Config: cfgName, RepoTags: ['team/app:legacy'], Layers: ['l1/layer.tar', 'l2/layer.tar'] }];
    const entries: Array<[string, Buffer]> = [
      ['manifest.json', Buffer.from(JSON.stringify(manifestJson))],
      [cfgName, cfg],
      ['l1/layer.tar', image.layerTars[0]!],
      ['shared/layer.tar', image.layerTars[1]!],
    ];
    const file = join(dir, 'legacy.tar');
    await writeTar(file, entries, [['l2/layer.tar', '../shared/layer.tar']]);
    const dest = new LayoutStore(join(dir, 'dest-legacy'));
    const res = await loadImageArchive(dest, file);
    assert.equal(res.format, 'docker-archive');
    assert.deepEqual(res.images[0]!.names, ['docker.io/team/app:legacy']);
    const m = await dest.readJson<ImageManifest>(res.images[0]!.descriptor.digest);
    assert.deepEqual(
      m.layers.map((l) => l.mediaType),
      [MediaType.OciLayerTar, MediaType.OciLayerTar],
    );
    assert.deepEqual(
      m.layers.map((l) => l.digest),
      image.layerTars.map((t) => sha256(t)),
    );

    // The same archive with a layer that does not match its diff_id is refused.
    const bad = join(dir, 'legacy-bad.tar');
    await writeTar(bad, [entries[0]!, entries[1]!, ['l1/layer.tar', image.layerTars[1]!], entries[3]!], [['l2/layer.tar', '../shared/layer.tar']]);
    const dest2 = new LayoutStore(join(dir, 'dest-legacy-bad'));
    await assert.rejects(loadImageArchive(dest2, bad), /layer l1\/layer.tar hashes to sha256:\w+, but the config says/);
    assert.deepEqual(await dest2.listRefs(), []);
  });

  test('a file that is no image archive is named as such', async () => {
    const file = join(dir, 'notimage.tar');
    await writeTar(file, [['hello.txt', Buffer.from('hi')]]);
    await assert.rejects(loadImageArchive(new LayoutStore(join(dir, 'dest-x')), file), /neither index.json \(oci-archive\) nor manifest.json/);
    await writeFile(join(dir, 'garbage.tar'), randomBytes(4096));
    await assert.rejects(loadImageArchive(new LayoutStore(join(dir, 'dest-y')), join(dir, 'garbage.tar')), /is not a valid image archive/);
  });

  test('saving refuses when a blob is missing from the store, leaving no file', async () => {
    const broken = new LayoutStore(join(dir, 'broken'));
    const img = await makeImage(broken, 'x/y:z', 'three');
    await broken.delete(img.manifest.layers[1]!.digest as Digest);
    const file = join(dir, 'never.tar');
    await assert.rejects(
      saveImageArchive(broken, [{ name: 'x/y:z', descriptor: img.descriptor }], file, { format: 'oci-archive' }),
      /is missing from the store/,
    );
    await assert.rejects(readFile(file), /ENOENT/);
  });
});
