// `tsbuild image save`: stream images from the local store into an oci-archive or docker-archive.
// Blobs are copied chunk by chunk through the store's verifying reader (a corrupt blob fails the
// save); the archive is written to a temp file and renamed, so FILE is complete or absent.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { LayoutStore } from '../content/index.js';
import { digestHex, type Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  formatReference,
  hostPlatform,
  isIndexMediaType,
  platformMatches,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  MANIFEST_LIMIT,
} from '../oci/index.js';
import { CONTAINERD_NAME_ANNOTATION, TarFileWriter, familiarName, referenceOf, type ArchiveFormat } from './archive.js';

export interface ArchiveImage {
  /** The name the image has in the store; becomes its ref.name / RepoTag in the archive. */
  name: string;
  descriptor: Descriptor;
}

export interface SaveArchiveOptions {
  format: ArchiveFormat;
  signal?: AbortSignal | undefined;
}

export interface SaveArchiveResult {
  bytes: number;
  blobs: number;
}

/** Every blob an image (manifest or index) needs, manifests after their content. */
async function collectBlobs(store: LayoutStore, desc: Descriptor, into: Map<Digest, number>, depth = 0): Promise<void> {
  const bytes = await store.readBytes(desc.digest, MANIFEST_LIMIT);
  const doc = JSON.parse(bytes.toString('utf8')) as ImageManifest & ImageIndex;
  if (isIndexMediaType(desc.mediaType) || Array.isArray(doc.manifests)) {
    if (depth > 0) throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${desc.digest}: nested indexes are not supported`);
    for (const child of doc.manifests) await collectBlobs(store, child, into, depth + 1);
  } else {
    into.set(doc.config.digest, doc.config.size);
    for (const l of doc.layers) into.set(l.digest, l.size);
  }
  into.set(desc.digest, desc.size);
}

/** docker-archive holds single-platform images: an index is reduced to the host's manifest. */
async function singleManifest(store: LayoutStore, image: ArchiveImage): Promise<{ descriptor: Descriptor; manifest: ImageManifest }> {
  let desc = image.descriptor;
  let doc = JSON.parse((await store.readBytes(desc.digest, MANIFEST_LIMIT)).toString('utf8')) as ImageManifest & ImageIndex;
  if (isIndexMediaType(desc.mediaType) || Array.isArray(doc.manifests)) {
    const want = hostPlatform();
    const candidates = doc.manifests.filter((m) => platformMatches(want, m.platform));
    let chosen: Descriptor | undefined;
    for (const c of candidates) if (!chosen && (await store.has(c.digest))) chosen = c;
    if (!chosen) {
      throw new TsbuildError(
        'TSB_IMAGE_NO_PLATFORM',
        `${image.name} is a multi-platform index with no ${want.os}/${want.architecture} image in the local store`,
        {
          hint: 'save it with --format oci-archive, which keeps the whole index',
        },
      );
    }
    desc = chosen;
    doc = JSON.parse((await store.readBytes(desc.digest, MANIFEST_LIMIT)).toString('utf8')) as ImageManifest & ImageIndex;
  }
  return { descriptor: desc, manifest: doc };
}

function blobPath(digest: Digest): string {
  return `blobs/sha256/${digestHex(digest)}`;
}

export async function saveImageArchive(store: LayoutStore, images: ArchiveImage[], file: string, options: SaveArchiveOptions): Promise<SaveArchiveResult> {
  if (images.length === 0) throw new TsbuildError('TSB_USAGE', 'nothing to save: no images given');
  const blobs = new Map<Digest, number>();
  const meta: Array<[string, Buffer]> = [['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')]];

  if (options.format === 'oci-archive') {
    const manifests: Descriptor[] = [];
    for (const image of images) {
      await collectBlobs(store, image.descriptor, blobs);
      const annotations: Record<string, string> = { [REF_NAME_ANNOTATION]: image.name };
      const ref = referenceOf(image.name);
      if (ref) annotations[CONTAINERD_NAME_ANNOTATION] = formatReference(ref);
      const d: Descriptor = { mediaType: image.descriptor.mediaType, digest: image.descriptor.digest, size: image.descriptor.size, annotations };
      if (image.descriptor.platform) d.platform = image.descriptor.platform;
      manifests.push(d);
    }
    const index: ImageIndex = { schemaVersion: 2, mediaType: MediaType.OciIndex, manifests };
    meta.push(['index.json', Buffer.from(JSON.stringify(index))]);
  } else {
    const entries: Array<{ Config: string; RepoTags: string[]; Layers: string[] }> = [];
    const byManifest = new Map<Digest, (typeof entries)[number]>();
    for (const image of images) {
      const { descriptor, manifest } = await singleManifest(store, image);
      const ref = referenceOf(image.name);
      const tag = ref?.tag ? familiarName({ registry: ref.registry, repository: ref.repository, tag: ref.tag }) : undefined;
      // The same image under two names is one entry with two RepoTags (as `docker save` does).
      const existing = byManifest.get(descriptor.digest);
      if (existing) {
        if (tag && !existing.RepoTags.includes(tag)) existing.RepoTags.push(tag);
        continue;
      }
      blobs.set(manifest.config.digest, manifest.config.size);
      for (const l of manifest.layers) blobs.set(l.digest, l.size);
      const entry = { Config: blobPath(manifest.config.digest), RepoTags: tag ? [tag] : [], Layers: manifest.layers.map((l) => blobPath(l.digest)) };
      byManifest.set(descriptor.digest, entry);
      entries.push(entry);
    }
    meta.push(['manifest.json', Buffer.from(JSON.stringify(entries))]);
  }

  for (const [digest, size] of blobs) {
    const have = await store.stat(digest);
    if (!have || have.size !== size) {
      throw new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} (${size} bytes) is missing from the store ${store.root}`, {
        hint: 'pull the image again (tsbuild image pull REF) or rebuild it',
      });
    }
  }

  return writeLayoutArchive(store, file, meta, blobs, { what: 'save', signal: options.signal });
}

/**
 * Stream an archive file: `meta` files, then every blob as blobs/sha256/<hex> read (verified) from
 * the store. Written to a temp file, fsynced and renamed, so a failed save leaves no file behind.
 */
export async function writeLayoutArchive(
  store: LayoutStore,
  file: string,
  meta: Array<[string, Buffer]>,
  blobs: ReadonlyMap<Digest, number>,
  options: { signal?: AbortSignal | undefined; what: string },
): Promise<SaveArchiveResult> {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const out = createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 });
  let failed: Error | undefined;
  out.on('error', (err) => (failed ??= err));
  try {
    const tar = new TarFileWriter(out);
    for (const [path, data] of meta) await tar.file(path, data);
    await tar.dir('blobs');
    await tar.dir('blobs/sha256');
    for (const [digest, size] of blobs) {
      if (options.signal?.aborted) throw new TsbuildError('TSB_ABORTED', `${options.what} interrupted`);
      await tar.stream(blobPath(digest), size, store.read(digest, { size }));
      if (failed) throw failed;
    }
    await tar.finish();
    await new Promise<void>((resolve, reject) => {
      out.once('error', reject);
      out.end(() => resolve());
    });
    if (failed) throw failed;
    const fh = await open(tmp, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, file);
    return { bytes: tar.bytes, blobs: blobs.size };
  } catch (err) {
    out.destroy();
    await unlink(tmp).catch(() => undefined);
    throw failed && !(err instanceof TsbuildError) ? failed : err;
  }
}
