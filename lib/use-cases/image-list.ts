// The image-list use case (`tsbuild image list`): the named images of the local store with their
// kind and size (pulled, loaded and final images; stages too when asked).
import { openStore, type LayoutStore } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { TSBUILD_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/index.js';

export interface ListedImage {
  name: string;
  /** base, final, stage, "not final"...; "" when unannotated. */
  kind: string;
  digest: string;
  /** Compressed size of manifest, config and layers; undefined when a blob is unreadable. */
  size: number | undefined;
}

/** The store's named images by name; stage images only with `all`. */
export async function listImages(home: HomePaths, options: { all?: boolean } = {}): Promise<ListedImage[]> {
  const store = await openStore(home);
  const refs = (await store.listRefs()).filter((r) => options.all || r.descriptor.annotations?.[TSBUILD_ANNOTATION.kind] !== 'stage');
  const rows: ListedImage[] = [];
  for (const r of refs.sort((a, b) => a.name.localeCompare(b.name))) {
    rows.push({ name: r.name, kind: kindOf(r.descriptor), digest: r.descriptor.digest, size: await imageSize(store, r.descriptor) });
  }
  return rows;
}

/** base, final, stage…; the result of an artifact or a `final: false` image is marked as not final. */
function kindOf(d: Descriptor): string {
  const a = d.annotations ?? {};
  const kind = a[TSBUILD_ANNOTATION.kind] ?? '';
  if (kind !== 'final' || a[TSBUILD_ANNOTATION.final] !== 'false') return kind;
  return a[TSBUILD_ANNOTATION.artifact] === 'true' ? 'artifact (not final)' : 'not final';
}

/** Compressed size of manifest + config + layers, or undefined if a blob is unreadable. */
async function imageSize(store: LayoutStore, d: Descriptor): Promise<number | undefined> {
  try {
    const m = await store.readJson<ImageManifest & ImageIndex>(d.digest);
    if (Array.isArray(m.manifests)) return d.size;
    return d.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
  } catch {
    return undefined;
  }
}
