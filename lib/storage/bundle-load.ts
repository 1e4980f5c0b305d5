// `tsbuild bundle load`: read a bundle (one streaming pass into the store, every blob verified),
// check each image is complete, then name them all with their dev.tsbuild.* annotations, so the
// stages are found by signature as if built here. Optionally publish the stages to a registry.
import type { LayoutStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { readArchive, readStoredImage } from '../image/index.js';
import { CONFIG_LIMIT, MANIFEST_LIMIT, REF_NAME_ANNOTATION, type Descriptor, type ImageConfig, type ImageIndex, type ImageManifest } from '../oci/index.js';
import { BUNDLE_ANNOTATION } from './bundle-save.js';
import { ANNOTATION, LocalStagesStorage, type StageRecord } from './local-stages.js';
import type { RegistryStages } from './registry-stages.js';

export interface LoadBundleResult {
  project: string;
  stages: number;
  finals: number;
  bases: number;
  /** With a registry: stages pushed, and stages it already had. */
  published: number;
  alreadyThere: number;
}

function corrupt(file: string, message: string): TsbuildError {
  return new TsbuildError('TSB_LAYER_INVALID', `${file} is incomplete or inconsistent: ${message}; nothing was loaded`, {
    hint: 'save the bundle again with `tsbuild bundle save`',
  });
}

export async function loadBundle(
  store: LayoutStore,
  file: string,
  options: {
    publishTo?: RegistryStages | undefined;
    signal?: AbortSignal | undefined;
    onStage?: (record: StageRecord, outcome: 'published' | 'theirs') => void;
  } = {},
): Promise<LoadBundleResult> {
  const contents = await readArchive(store, file, options.signal);
  const indexBytes = contents.meta.get('index.json');
  let index: ImageIndex;
  try {
    index = JSON.parse(indexBytes?.toString('utf8') ?? 'null') as ImageIndex;
  } catch {
    throw corrupt(file, 'index.json is not JSON');
  }
  const project = index?.annotations?.[BUNDLE_ANNOTATION];
  if (!project || !Array.isArray(index.manifests)) {
    throw new TsbuildError('TSB_USAGE', `${file} is not a tsbuild bundle (its index.json has no ${BUNDLE_ANNOTATION} annotation)`, {
      hint: 'load plain image archives with `tsbuild image load -i FILE`',
    });
  }
  // Check everything before naming anything: a broken bundle leaves the store's names untouched.
  const entries: Array<{ name: string; descriptor: Descriptor; annotations: Record<string, string> }> = [];
  for (const m of index.manifests) {
    const name = m.annotations?.[REF_NAME_ANNOTATION];
    if (!name) throw corrupt(file, `entry ${m.digest} has no ${REF_NAME_ANNOTATION}`);
    await requireBlob(store, file, m, 'manifest');
    const manifest = await store.readJson<ImageManifest>(m.digest, MANIFEST_LIMIT);
    if (!manifest?.config || !Array.isArray(manifest.layers)) throw corrupt(file, `${name} is not an image manifest`);
    await requireBlob(store, file, manifest.config, 'config');
    for (const l of manifest.layers) await requireBlob(store, file, l, 'layer');
    const config = await store.readJson<ImageConfig>(manifest.config.digest, CONFIG_LIMIT);
    if (config.rootfs?.diff_ids?.length !== manifest.layers.length)
      throw corrupt(file, `${name} has ${manifest.layers.length} layers but ${config.rootfs?.diff_ids?.length ?? 0} diff_ids`);
    const annotations: Record<string, string> = {};
    for (const [k, v] of Object.entries(m.annotations ?? {})) if (k !== REF_NAME_ANNOTATION) annotations[k] = v;
    const kind = annotations[ANNOTATION.kind];
    if ((kind === 'stage' || kind === 'final') && annotations[ANNOTATION.project] !== project) {
      throw corrupt(file, `${name} belongs to project ${annotations[ANNOTATION.project] ?? '?'}, not ${project}`);
    }
    entries.push({ name, descriptor: { mediaType: m.mediaType, digest: m.digest, size: m.size }, annotations });
  }
  for (const e of entries) await store.setRef(e.name, e.descriptor, e.annotations);

  const result: LoadBundleResult = { project, stages: 0, finals: 0, bases: 0, published: 0, alreadyThere: 0 };
  const stageSigs = new Set<string>();
  for (const e of entries) {
    const kind = e.annotations[ANNOTATION.kind];
    if (kind === 'stage') {
      result.stages++;
      stageSigs.add(e.annotations[ANNOTATION.signature] ?? '');
    } else if (kind === 'final') result.finals++;
    else result.bases++;
  }
  if (options.publishTo) {
    const local = new LocalStagesStorage(store, project);
    for (const s of await local.list()) {
      if (!stageSigs.has(s.signature)) continue;
      options.signal?.throwIfAborted();
      const { descriptor, ...record } = s;
      const { outcome } = await options.publishTo.publish(record, await readStoredImage(store, descriptor));
      if (outcome === 'published') result.published++;
      else result.alreadyThere++;
      options.onStage?.(record, outcome);
    }
  }
  return result;
}

async function requireBlob(store: LayoutStore, file: string, d: Pick<Descriptor, 'digest' | 'size'>, what: string): Promise<void> {
  const have = await store.stat(d.digest);
  if (!have) throw corrupt(file, `${what} ${d.digest} is missing`);
  if (have.size !== d.size) throw corrupt(file, `${what} ${d.digest} is ${have.size} bytes, the descriptor says ${d.size}`);
}
