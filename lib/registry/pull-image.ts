// Pull an image into the LayoutStore: resolve the reference, pick the platform from an index,
// then fetch config and layers together (skipping blobs already stored, a few at a time), check
// the config against the layers, and store the manifest last, so a stored manifest always has its blobs.
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import type { LayoutStore } from '../content/index.js';
import {
  MediaType,
  formatPlatform,
  formatReference,
  hostPlatform,
  isIndexMediaType,
  parseReference,
  platformMatches,
  withDigest,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  type Reference,
  MANIFEST_LIMIT,
  CONFIG_LIMIT,
} from '../oci/index.js';
import { getBlob } from './blob-download.js';
import { mapLimit } from './map-limit.js';
import { classifyManifest, getManifest, type FetchedManifest } from './manifests.js';
import type { RegistryClient } from './registry-client.js';
import type { TransferProgress } from './transfer-types.js';

const LAYER_MEDIA_TYPES: readonly string[] = [
  MediaType.OciLayerTar,
  MediaType.OciLayerGzip,
  MediaType.OciLayerZstd,
  MediaType.DockerLayerGzip,
  MediaType.DockerForeignLayerGzip,
  'application/vnd.oci.image.layer.nondistributable.v1.tar',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd',
];

export interface PullImageOptions {
  /** Platform to choose from an index (default: the host's). */
  platform?: Platform | undefined;
  signal?: AbortSignal | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  /** Also name the pulled manifest in the store's index.json. */
  refName?: string | undefined;
}

export interface PulledImage {
  manifestDescriptor: Descriptor;
  manifest: ImageManifest;
  config: ImageConfig;
  configDescriptor: Descriptor;
  /** The index the manifest was chosen from, when the reference named one. */
  indexDescriptor?: Descriptor;
}

/** Pick the manifest for `want`; attestation entries (unknown/unknown) never match. */
export function selectPlatform(index: ImageIndex, want: Platform, what: string): Descriptor {
  const candidates = index.manifests.filter((m) => !isIndexMediaType(m.mediaType) && m.platform && m.platform.os !== 'unknown');
  const exact = candidates.find((m) => platformMatches(want, m.platform) && (m.platform?.variant ?? '') === (want.variant ?? ''));
  const chosen = exact ?? candidates.find((m) => platformMatches(want, m.platform));
  if (!chosen) {
    const available = candidates.map((m) => formatPlatform(m.platform!)).join(', ') || 'none';
    throw new TsbuildError('TSB_IMAGE_NO_PLATFORM', `${what}: no manifest for platform ${formatPlatform(want)}; available: ${available}`, {
      hint: 'choose one of the available platforms with --platform',
      details: { wanted: formatPlatform(want), available },
    });
  }
  return chosen;
}

async function manifestFor(client: RegistryClient, ref: Reference, store: LayoutStore, signal: AbortSignal | undefined): Promise<FetchedManifest> {
  // A digest reference already in the store needs no network (air-gapped builds, cached bases).
  if (ref.digest && (await store.has(ref.digest))) {
    const bytes = await store.readBytes(ref.digest, MANIFEST_LIMIT);
    const { mediaType, document } = classifyManifest(bytes, undefined, `manifest ${ref.digest} in ${store.root}`);
    return { descriptor: { mediaType, digest: ref.digest, size: bytes.length }, bytes, document };
  }
  return getManifest(client, ref, { signal });
}

export async function pullImage(
  client: RegistryClient,
  reference: Reference | string,
  store: LayoutStore,
  options: PullImageOptions = {},
): Promise<PulledImage> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const { signal, onProgress } = options;
  const what = formatReference(ref);
  let fetched = await manifestFor(client, ref, store, signal);
  let indexDescriptor: Descriptor | undefined;
  if (isIndexMediaType(fetched.descriptor.mediaType)) {
    indexDescriptor = fetched.descriptor;
    const chosen = selectPlatform(fetched.document as ImageIndex, options.platform ?? hostPlatform(), what);
    fetched = await manifestFor(client, withDigest(ref, chosen.digest), store, signal);
    if (isIndexMediaType(fetched.descriptor.mediaType)) {
      throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: the index entry ${chosen.digest} is itself an index; nested indexes are not supported`);
    }
    fetched.descriptor.platform = chosen.platform!;
  }
  const manifest = fetched.document as ImageManifest;
  const configDescriptor = manifest.config;
  if (configDescriptor.mediaType !== MediaType.OciConfig && configDescriptor.mediaType !== MediaType.DockerConfig) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: config media type ${configDescriptor.mediaType} is not an image config (an artifact?)`);
  }
  if (configDescriptor.size > CONFIG_LIMIT) {
    throw new TsbuildError('TSB_TOO_LARGE', `${what}: the image config is ${configDescriptor.size} bytes, more than the ${CONFIG_LIMIT}-byte limit`);
  }
  for (const l of manifest.layers) {
    if (!LAYER_MEDIA_TYPES.includes(l.mediaType)) {
      throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: layer ${l.digest} has unsupported media type ${l.mediaType}`);
    }
  }

  // Config and layers travel together (the config first in line): waiting for the config before
  // asking for any layer cost a round trip, a write and an fsync. The config is still checked
  // against the layers before the manifest is stored, so an inconsistent image names nothing (blobs
  // fetched in vain are unnamed and go at the next gc).
  const unique = new Map<Digest, Descriptor>();
  for (const l of manifest.layers) unique.set(l.digest, l);
  const blobs = [configDescriptor, ...[...unique.values()].filter((l) => l.digest !== configDescriptor.digest)];
  await mapLimit(blobs, client.concurrency, (b) => fetchIfMissing(client, ref, b, store, signal, onProgress));
  const config = await store.readJson<ImageConfig>(configDescriptor.digest, CONFIG_LIMIT);
  const diffIds = config.rootfs?.diff_ids;
  if (!Array.isArray(diffIds) || diffIds.length !== manifest.layers.length) {
    throw new TsbuildError(
      'TSB_LAYER_INVALID',
      `${what}: the config lists ${Array.isArray(diffIds) ? diffIds.length : 'no'} diff_ids for ${manifest.layers.length} layers`,
    );
  }
  if (options.platform && (config.os !== options.platform.os || config.architecture !== options.platform.architecture)) {
    throw new TsbuildError('TSB_IMAGE_NO_PLATFORM', `${what}: the image is ${config.os}/${config.architecture}, not ${formatPlatform(options.platform)}`);
  }

  // The registry served a manifest naming these blobs, so the repository holds them: a later push
  // to another repository of this registry can mount them instead of uploading. Written while the
  // manifest is stored.
  for (const d of [configDescriptor, ...unique.values()]) client.blobInfo.record(d.digest, ref);
  const saving = client.blobInfo.save();
  await store.writeBytes(fetched.bytes, { digest: fetched.descriptor.digest, size: fetched.descriptor.size });
  if (options.refName) await store.setRef(options.refName, fetched.descriptor);
  await saving;
  const result: PulledImage = { manifestDescriptor: fetched.descriptor, manifest, config, configDescriptor };
  if (indexDescriptor) result.indexDescriptor = indexDescriptor;
  return result;
}

async function fetchIfMissing(
  client: RegistryClient,
  ref: Reference,
  desc: Descriptor,
  store: LayoutStore,
  signal: AbortSignal | undefined,
  onProgress: ((p: TransferProgress) => void) | undefined,
): Promise<void> {
  const have = await store.stat(desc.digest);
  if (have && have.size === desc.size) {
    onProgress?.({ digest: desc.digest, mediaType: desc.mediaType, phase: 'skipped', bytes: desc.size, total: desc.size });
    return;
  }
  await getBlob(client, ref, desc, store, { signal, onProgress });
}
