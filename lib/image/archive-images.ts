// Turning what an archive pass stored into images: index.json entries (oci-archive) or manifest.json
// entries (docker-archive, rewritten as OCI manifests), each checked to be complete and consistent
// before anything is named.
import type { LayoutStore } from '../content/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import {
  MediaType,
  REF_NAME_ANNOTATION,
  formatPlatform,
  formatReference,
  hostPlatform,
  isIndexMediaType,
  isManifestMediaType,
  platformMatches,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  MANIFEST_LIMIT,
  CONFIG_LIMIT,
} from '../oci/index.js';
import { CONTAINERD_NAME_ANNOTATION, referenceOf, type ArchiveContents, type ArchiveFile } from './archive.js';

export interface LoadedImage {
  /** Store names (normalised references) the image is recorded under. */
  names: string[];
  /**
   * The names as the archive wrote them (ref.name / RepoTags), parallel to `names`; absent when
   * --name gave it. An unnamed image may still have one that is only a tag ("latest").
   */
  found?: string[];
  descriptor: Descriptor;
  /** The index the image was chosen from (by platform): a name may carry that digest too. */
  index?: Digest;
  layers: number;
}

function corrupt(message: string): TsbuildError {
  return new TsbuildError('TSB_LAYER_INVALID', `the archive is incomplete or inconsistent: ${message}; nothing was loaded`, {
    hint: 'save or copy the archive again from its source',
  });
}

async function requireBlob(store: LayoutStore, contents: ArchiveContents, d: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<void> {
  const inArchive = contents.files.get(`blobs/sha256/${d.digest.slice(7)}`);
  // A blob also counts when the store already had it (saved archives may leave out shared layers).
  const have = inArchive ?? (await store.stat(d.digest));
  if (!have) throw corrupt(`${what} ${d.digest} is missing`);
  if (have.size !== d.size) throw corrupt(`${what} ${d.digest} is ${have.size} bytes, the descriptor says ${d.size}`);
}

/** A store name for an image from its annotations: only references count, a bare tag does not. */
/** The image's name from the index entry, and the annotation text it came from (also when that is only a tag). */
function nameFromAnnotations(d: Descriptor): { name?: string; found?: string } {
  const a = d.annotations ?? {};
  for (const candidate of [a[CONTAINERD_NAME_ANNOTATION], a[REF_NAME_ANNOTATION]]) {
    if (!candidate) continue;
    const ref = referenceOf(candidate);
    if (ref) return { name: formatReference(ref), found: candidate };
  }
  const found = a[CONTAINERD_NAME_ANNOTATION] ?? a[REF_NAME_ANNOTATION];
  return found ? { found } : {};
}

async function checkManifest(store: LayoutStore, contents: ArchiveContents, desc: Descriptor): Promise<ImageManifest> {
  await requireBlob(store, contents, desc, 'manifest');
  const m = await store.readJson<ImageManifest>(desc.digest, MANIFEST_LIMIT);
  if (!m?.config || !Array.isArray(m.layers)) throw corrupt(`${desc.digest} is not an image manifest`);
  await requireBlob(store, contents, m.config, 'config');
  for (const l of m.layers) await requireBlob(store, contents, l, 'layer');
  const config = await store.readJson<ImageConfig>(m.config.digest, CONFIG_LIMIT);
  if (config.rootfs?.diff_ids?.length !== m.layers.length) {
    throw corrupt(`image ${desc.digest} has ${m.layers.length} layers but its config lists ${config.rootfs?.diff_ids?.length ?? 0} diff_ids`);
  }
  return m;
}

export async function ociArchiveImages(store: LayoutStore, contents: ArchiveContents, platform: Platform | undefined): Promise<LoadedImage[]> {
  let index: ImageIndex;
  try {
    index = JSON.parse(contents.meta.get('index.json')!.toString('utf8')) as ImageIndex;
    if (!Array.isArray(index.manifests)) throw new Error('no "manifests" list');
  } catch (err) {
    throw corrupt(`index.json is not an OCI index (${(err as Error).message})`);
  }
  const out: LoadedImage[] = [];
  for (const entry of index.manifests) {
    const name = nameFromAnnotations(entry);
    let desc: Descriptor = { mediaType: entry.mediaType, digest: entry.digest, size: entry.size };
    if (isIndexMediaType(entry.mediaType)) {
      await requireBlob(store, contents, entry, 'index');
      const child = await store.readJson<ImageIndex>(entry.digest, MANIFEST_LIMIT);
      const want = platform ?? hostPlatform();
      const chosen = (child.manifests ?? []).find((m) => isManifestMediaType(m.mediaType) && platformMatches(want, m.platform));
      if (!chosen) {
        const available =
          (child.manifests ?? [])
            .filter((m) => m.platform)
            .map((m) => formatPlatform(m.platform!))
            .join(', ') || 'none';
        throw new TsbuildError('TSB_IMAGE_NO_PLATFORM', `index ${entry.digest} in the archive has no ${formatPlatform(want)} image; available: ${available}`, {
          hint: 'choose one with --platform',
        });
      }
      desc = { mediaType: chosen.mediaType, digest: chosen.digest, size: chosen.size, ...(chosen.platform ? { platform: chosen.platform } : {}) };
    } else if (!isManifestMediaType(entry.mediaType)) {
      throw corrupt(`index.json names ${entry.digest} of unsupported media type ${entry.mediaType}`);
    } else if (entry.platform) {
      desc.platform = entry.platform;
    }
    const m = await checkManifest(store, contents, desc);
    out.push({
      names: name.name ? [name.name] : [],
      found: name.found ? [name.found] : [],
      descriptor: desc,
      ...(desc.digest !== entry.digest ? { index: entry.digest } : {}),
      layers: m.layers.length,
    });
  }
  return out;
}

interface DockerManifestEntry {
  Config?: unknown;
  RepoTags?: unknown;
  Layers?: unknown;
}

function layerMediaType(f: ArchiveFile): string {
  if (f.magic[0] === 0x1f && f.magic[1] === 0x8b) return MediaType.OciLayerGzip;
  if (f.magic.length >= 4 && f.magic.readUInt32BE(0) === 0x28b52ffd) return MediaType.OciLayerZstd;
  return MediaType.OciLayerTar;
}

export async function dockerArchiveImages(store: LayoutStore, contents: ArchiveContents): Promise<LoadedImage[]> {
  let entries: DockerManifestEntry[];
  try {
    entries = JSON.parse(contents.meta.get('manifest.json')!.toString('utf8')) as DockerManifestEntry[];
    if (!Array.isArray(entries)) throw new Error('not a list');
  } catch (err) {
    throw corrupt(`manifest.json is not a docker-archive manifest (${(err as Error).message})`);
  }
  const out: LoadedImage[] = [];
  for (const [i, e] of entries.entries()) {
    if (typeof e.Config !== 'string' || !Array.isArray(e.Layers) || !e.Layers.every((l) => typeof l === 'string')) {
      throw corrupt(`manifest.json entry ${i} lacks Config or Layers`);
    }
    const cfgFile = contents.lookup(e.Config);
    if (!cfgFile) throw corrupt(`config ${e.Config} named by manifest.json is not in the archive`);
    const config = await store.readJson<ImageConfig>(cfgFile.digest, CONFIG_LIMIT);
    const diffIds: Digest[] = config.rootfs?.diff_ids ?? [];
    if (diffIds.length !== e.Layers.length) throw corrupt(`${e.Config} lists ${diffIds.length} diff_ids for ${e.Layers.length} layers`);
    const layers: Descriptor[] = [];
    for (const [j, path] of (e.Layers as string[]).entries()) {
      const f = contents.lookup(path);
      if (!f) throw corrupt(`layer ${path} named by manifest.json is not in the archive`);
      const mediaType = layerMediaType(f);
      // An uncompressed layer is its own diff: its digest must be the diff_id the config promises.
      if (mediaType === MediaType.OciLayerTar && f.digest !== diffIds[j]) {
        throw new TsbuildError(
          'TSB_DIGEST_MISMATCH',
          `the archive is corrupt: layer ${path} hashes to ${f.digest}, but the config says ${diffIds[j]}; nothing was loaded`,
          {
            hint: 'save or copy the archive again from its source',
          },
        );
      }
      layers.push({ mediaType, digest: f.digest, size: f.size });
    }
    const manifest: ImageManifest = {
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, digest: cfgFile.digest, size: cfgFile.size },
      layers,
    };
    const written = await store.writeJson(manifest);
    const found = Array.isArray(e.RepoTags) ? e.RepoTags.filter((t): t is string => typeof t === 'string') : [];
    const names = found.map((t) => {
      const ref = referenceOf(t);
      if (!ref) throw corrupt(`RepoTags entry "${t}" is not an image reference`);
      return formatReference(ref);
    });
    out.push({ names, found, descriptor: { mediaType: MediaType.OciManifest, digest: written.info.digest, size: written.info.size }, layers: layers.length });
  }
  return out;
}
