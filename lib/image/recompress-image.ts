// `image push --layer-compression`: a copy of a stored image whose layers are compressed the
// requested way (what `skopeo copy --dest-compress-format` does). Layers already in that format
// are kept as they are; the others are decompressed, checked against the config's diff_ids and
// compressed again into the store. The config (diff_ids) does not change, the manifest does.
import { pipeline } from 'node:stream/promises';
import { PassThrough } from 'node:stream';
import type { LayoutStore } from '../content/index.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import { storeTarStream, createLayerDecompressor } from '../layer/index.js';
import { MediaType, layerCompression, ociLayerMediaType, type Descriptor, type ImageManifest, type LayerCompressionSpec } from '../oci/index.js';
import { readStoredImage } from './stored-image.js';

export interface RecompressResult {
  descriptor: Descriptor;
  /** Layers that were compressed again (0: the image was already in the requested format). */
  recompressed: number;
}

export async function recompressImage(
  store: LayoutStore,
  descriptor: Descriptor,
  spec: LayerCompressionSpec,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<RecompressResult> {
  if (descriptor.mediaType !== MediaType.OciManifest && descriptor.mediaType !== MediaType.DockerManifest) {
    throw new TsbuildError('TSB_USAGE', `--layer-compression applies to one image manifest; ${descriptor.digest} is a ${descriptor.mediaType}`, {
      hint: 'push a single-platform image, or push without --layer-compression',
    });
  }
  const image = await readStoredImage(store, descriptor);
  const layers: Descriptor[] = [];
  let recompressed = 0;
  for (const [i, layer] of image.manifest.layers.entries()) {
    const from = layerCompression(layer.mediaType);
    if (from === spec.format) {
      layers.push({ ...layer, mediaType: ociLayerMediaType(layer.mediaType) });
      continue;
    }
    const diffId = image.config.rootfs.diff_ids[i]!;
    const tar = new PassThrough({ highWaterMark: 1 << 20 });
    const decompress = createLayerDecompressor(from);
    const feeding = pipeline(
      [store.read(layer.digest, { size: layer.size }), ...(decompress ? [decompress] : []), tar],
      options.signal ? { signal: options.signal } : {},
    );
    const [stored] = await Promise.all([storeTarStream(tar, store, { compression: spec, signal: options.signal }), feeding]);
    if (stored.diffId !== diffId) throw new DigestMismatchError(`layer ${layer.digest} of ${descriptor.digest} (uncompressed)`, diffId, stored.diffId);
    layers.push({ ...stored.descriptor, ...(layer.annotations ? { annotations: layer.annotations } : {}) });
    recompressed++;
  }
  if (recompressed === 0 && descriptor.mediaType === MediaType.OciManifest && layers.every((l, i) => l.mediaType === image.manifest.layers[i]!.mediaType)) {
    return { descriptor, recompressed };
  }
  // zstd has no Docker media type: the copy is an OCI manifest (the config JSON is the same).
  const manifest: ImageManifest = {
    ...image.manifest,
    mediaType: MediaType.OciManifest,
    config: { ...image.manifest.config, mediaType: MediaType.OciConfig },
    layers,
  };
  const m = await store.writeJson(manifest);
  return { descriptor: { mediaType: MediaType.OciManifest, digest: m.info.digest, size: m.info.size }, recompressed };
}
