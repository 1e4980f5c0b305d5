// Air-gapped bundles (`tsbuild bundle save`): the final images of a project and every stored stage
// they were built from, as one oci-archive whose index.json keeps the store names and dev.tsbuild.*
// annotations, so `bundle load` on another machine recreates the same local stages storage.
import type { LayoutStore } from '../content/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { writeLayoutArchive } from '../image/index.js';
import { MANIFEST_LIMIT, MediaType, REF_NAME_ANNOTATION, TSBUILD_ANNOTATION, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/index.js';
import { LocalStagesStorage, finalRefName, stageRefName } from './local-stages.js';
import { signaturesIn } from './signatures-in.js';

/** On the archive's index.json: marks a tsbuild bundle and names its project. */
export const BUNDLE_ANNOTATION = 'dev.tsbuild.bundle.project';

export interface BundleEntry {
  /** Store name (ref.name in the archive). */
  name: string;
  descriptor: Descriptor;
  /** The index.json entry's annotations (dev.tsbuild.*), kept through the archive. */
  annotations: Record<string, string>;
}

export interface BundleSelection {
  project: string;
  entries: BundleEntry[];
  stages: number;
  finals: number;
  bases: number;
}

export interface FinalToBundle {
  imageName: string;
  /** The final stage's signature from the current plan. */
  signature: string;
}

/**
 * The final images and, walking parent links (and signatures named in inputs: fromImage bases,
 * import sources) from their final stages, every stored stage of the project they need.
 */
export async function selectBundle(store: LayoutStore, project: string, finals: FinalToBundle[]): Promise<BundleSelection> {
  const local = new LocalStagesStorage(store, project);
  const all = await local.list();
  const bySignature = new Map(all.map((s) => [s.signature, s]));
  const entries: BundleEntry[] = [];
  const chosen = new Set<string>();
  const bases = new Set<string>();
  const visit = (sig: string): void => {
    if (chosen.has(sig)) return;
    const s = bySignature.get(sig);
    if (!s) return; // an older stage is not stored: the bundle still holds every stage after it
    chosen.add(sig);
    if (s.parent) visit(s.parent);
    for (const named of signaturesIn(s.inputs)) visit(named);
    const base = s.stage === 'from' ? (s.inputs.base as { ref?: unknown } | undefined)?.ref : undefined;
    if (typeof base === 'string') bases.add(base);
  };
  const notStored = finals.filter((f) => !bySignature.has(f.signature));
  if (notStored.length > 0) {
    throw new TsbuildError(
      'TSB_STORE_NOT_FOUND',
      `not built in the local store: ${notStored.map((f) => `image "${f.imageName || '~'}" (final stage ${f.signature.slice(0, 12)})`).join(', ')}`,
      {
        hint: 'run `tsbuild build` (without --repo, or after it, so every stage is local) and save the bundle again',
      },
    );
  }
  for (const f of finals) {
    const finalStage = bySignature.get(f.signature)!;
    visit(finalStage.signature);
    // The final name points at what the plan built, whatever the last build (a --dev one) named.
    const ref = finalRefName(project, f.imageName);
    const named = await store.resolve(ref);
    const annotations = named
      ? annotationsOf(named)
      : { [TSBUILD_ANNOTATION.kind]: 'final', [TSBUILD_ANNOTATION.project]: project, [TSBUILD_ANNOTATION.image]: f.imageName };
    entries.push({ name: ref, descriptor: plain(finalStage.descriptor), annotations });
  }
  const finalCount = finals.length;
  for (const sig of chosen) {
    const s = bySignature.get(sig)!;
    entries.push({ name: stageRefName(project, sig), descriptor: plain(s.descriptor), annotations: annotationsOf(s.descriptor) });
  }
  let baseCount = 0;
  for (const name of bases) {
    const d = await store.resolve(name).catch(() => undefined);
    if (!d) continue;
    entries.push({ name, descriptor: plain(d), annotations: annotationsOf(d) });
    baseCount++;
  }
  return { project, entries, stages: chosen.size, finals: finalCount, bases: baseCount };
}

function plain(d: Descriptor): Descriptor {
  return { mediaType: d.mediaType, digest: d.digest, size: d.size, ...(d.platform ? { platform: d.platform } : {}) };
}

function annotationsOf(d: Descriptor): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.annotations ?? {})) if (k !== REF_NAME_ANNOTATION) out[k] = v;
  return out;
}

export interface SaveBundleResult {
  bytes: number;
  blobs: number;
}

/** Write the selection as an oci-archive (temp file + rename: FILE is complete or absent). */
export async function saveBundle(
  store: LayoutStore,
  selection: BundleSelection,
  file: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<SaveBundleResult> {
  const blobs = new Map<Digest, number>();
  for (const e of selection.entries) {
    const manifest = JSON.parse((await store.readBytes(e.descriptor.digest, MANIFEST_LIMIT)).toString('utf8')) as ImageManifest;
    if (!manifest.config || !Array.isArray(manifest.layers)) {
      throw new TsbuildError('TSB_STORE_CORRUPT', `${e.name} (${e.descriptor.digest}) is not an image manifest`);
    }
    blobs.set(manifest.config.digest, manifest.config.size);
    for (const l of manifest.layers) blobs.set(l.digest, l.size);
    blobs.set(e.descriptor.digest, e.descriptor.size);
  }
  for (const [digest, size] of blobs) {
    const have = await store.stat(digest);
    if (!have || have.size !== size) {
      const owner = selection.entries.find((e) => e.descriptor.digest === digest)?.name;
      throw new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} (${size} bytes) is not in the local store${owner ? ` (${owner})` : ''}`, {
        hint: 'stages found in a registry (--repo) keep their layers there until built on: build once without --repo, or rebuild, then save again',
      });
    }
  }
  const index: ImageIndex = {
    schemaVersion: 2,
    mediaType: MediaType.OciIndex,
    manifests: selection.entries.map((e) => ({ ...e.descriptor, annotations: { ...e.annotations, [REF_NAME_ANNOTATION]: e.name } })),
    annotations: { [BUNDLE_ANNOTATION]: selection.project },
  };
  const meta: Array<[string, Buffer]> = [
    ['oci-layout', Buffer.from('{"imageLayoutVersion":"1.0.0"}')],
    ['index.json', Buffer.from(JSON.stringify(index))],
  ];
  return writeLayoutArchive(store, file, meta, blobs, { what: 'bundle save', signal: options.signal });
}
