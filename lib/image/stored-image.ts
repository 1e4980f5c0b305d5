// Images held in the local OCI layout: read manifest+config, and write a derived image
// (parent + one layer and/or a changed config) as a new manifest.
import { Readable } from 'node:stream';
import type { ContentStore } from '../content/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { CONFIG_LIMIT, MediaType, isManifestMediaType, ociLayerMediaType, type Descriptor, type ImageConfig, type ImageManifest } from '../oci/index.js';
import type { LayerSource } from '../sandbox/index.js';

export interface StoredImage {
  descriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
}

export async function readStoredImage(store: ContentStore, descriptor: Descriptor): Promise<StoredImage> {
  if (!isManifestMediaType(descriptor.mediaType)) {
    throw new TsbuildError('TSB_STORE_CORRUPT', `${descriptor.digest} is a ${descriptor.mediaType}, not an image manifest`);
  }
  const manifest = await store.readJson<ImageManifest>(descriptor.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest, CONFIG_LIMIT);
  if (manifest.layers.length !== config.rootfs.diff_ids.length) {
    throw new TsbuildError('TSB_STORE_CORRUPT', `image ${descriptor.digest}: ${manifest.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
  }
  return { descriptor, manifest, config };
}

/** Somewhere a blob missing from the local store may be (a stages repository): copies it into the store. */
export interface BlobFetcher {
  readonly name: string;
  /** Store the blob locally; false when this source lacks it. */
  fetchBlob(descriptor: Descriptor): Promise<boolean>;
}

/**
 * The layers of a stored image as the snapshotter opens them: read from the local store, and when
 * a layer is not there (a stage found in a stages repository), fetched from the first of `fetchers`
 * that has it the first time it is opened — as go-containerregistry's remote image does.
 */
export function layerSources(store: ContentStore, image: StoredImage, fetchers: readonly BlobFetcher[] = []): LayerSource[] {
  return image.manifest.layers.map((d, i) => ({
    descriptor: d,
    diffId: image.config.rootfs.diff_ids[i] as Digest,
    open: (): Readable => (fetchers.length === 0 ? store.read(d.digest, { size: d.size }) : Readable.from(lazyRead(store, d, fetchers))),
  }));
}

async function* lazyRead(store: ContentStore, d: Descriptor, fetchers: readonly BlobFetcher[]): AsyncGenerator<Buffer> {
  if (!(await store.has(d.digest as Digest))) await fetchBlob(store, d, fetchers);
  yield* store.read(d.digest as Digest, { size: d.size });
}

/** Make `d` present in the local store from the first fetcher that has it. */
export async function fetchBlob(_store: ContentStore, d: Descriptor, fetchers: readonly BlobFetcher[]): Promise<void> {
  for (const f of fetchers) if (await f.fetchBlob(d)) return;
  throw new TsbuildError(
    'TSB_STORE_NOT_FOUND',
    `layer ${d.digest} is not in the local store${fetchers.length ? ` nor in ${fetchers.map((f) => f.name).join(', ')}` : ''}`,
    {
      hint: 'the stage was found in a stages repository: pass the repository it was built with (--repo), or rebuild',
    },
  );
}

export interface DeriveOptions {
  layer?: { descriptor: Descriptor; diffId: Digest };
  config?: ImageConfig['config'];
  history?: string;
  annotations?: Record<string, string>;
  created?: string;
  author?: string;
  /** Start the history afresh (imageSpec.clearHistory): only this change is recorded. */
  clearHistory?: boolean;
}

/** Write a new OCI manifest derived from `parent` (its layers, plus `layer` if given). */
export async function writeDerivedImage(store: ContentStore, parent: StoredImage, options: DeriveOptions): Promise<StoredImage> {
  const created = options.created ?? new Date(0).toISOString();
  const config: ImageConfig = {
    ...parent.config,
    created,
    config: options.config ?? parent.config.config ?? {},
    rootfs: { type: 'layers', diff_ids: [...parent.config.rootfs.diff_ids] },
    history: options.clearHistory ? [] : [...(parent.config.history ?? [])],
  };
  if (options.author !== undefined) config.author = options.author;
  // Every layer still needs its history entry count to match; a cleared history describes them once.
  if (options.clearHistory) config.history!.push(...config.rootfs.diff_ids.map(() => ({ created, created_by: 'tsbuild (history cleared)' })));
  const layers: Descriptor[] = parent.manifest.layers.map(ociLayerDescriptor);
  if (options.layer) {
    config.rootfs.diff_ids.push(options.layer.diffId);
    layers.push(ociLayerDescriptor(options.layer.descriptor));
  }
  config.history!.push({ created, created_by: options.history ?? 'tsbuild', ...(options.layer ? {} : { empty_layer: true }) });
  const configBlob = await store.writeJson(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: configBlob.info.digest, size: configBlob.info.size },
    layers,
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  const m = await store.writeJson(manifest);
  return { descriptor: { mediaType: MediaType.OciManifest, digest: m.info.digest, size: m.info.size }, manifest, config };
}

/** Docker media types are rewritten to their OCI equivalents so the manifest is consistent. */
function ociLayerDescriptor(d: Descriptor): Descriptor {
  const out: Descriptor = { mediaType: ociLayerMediaType(d.mediaType), digest: d.digest, size: d.size };
  if (d.annotations) out.annotations = d.annotations;
  return out;
}
