// The stage conveyor: for each image (in dependency order) compute every stage's signature, reuse
// the newest stage already stored, and build the rest on top of it.
import type { WerfConfig, ImageSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import { TSBUILD_ANNOTATION } from '../oci/index.js';
import type { StoredImage } from '../image/index.js';
import type { StagesStorage } from '../storage/index.js';
import { explainRebuild, explainWithFiles } from './explain.js';
import { computeSignature } from './signature.js';
import type { BuildContext, Stage, StageName, StageState } from './stage.js';
import { fromStage } from './stages/from.js';
import { userStage } from './stages/user-stage.js';
import { dockerInstructionsStage } from './stages/docker-instructions.js';
import { importsStage } from './stages/imports.js';
import { imageSpecStage } from './stages/image-spec.js';
import { gitArchiveStage, gitCacheStage, gitLatestPatchStage } from './stages/git-stages.js';

export const IMAGE_CONVEYOR: readonly Stage[] = [
  fromStage,
  userStage('beforeInstall'),
  importsStage('importsBeforeInstall', { before: 'install' }),
  gitArchiveStage,
  userStage('install'),
  importsStage('importsAfterInstall', { after: 'install' }),
  userStage('beforeSetup'),
  importsStage('importsBeforeSetup', { before: 'setup' }),
  userStage('setup'),
  importsStage('importsAfterSetup', { after: 'setup' }),
  gitCacheStage,
  gitLatestPatchStage,
  dockerInstructionsStage,
  imageSpecStage,
];

export interface PlannedStage {
  name: StageName;
  signature: string;
  parent: string | null;
  inputs: Record<string, unknown>;
  stage: Stage;
  /** What the parent carries into this stage. */
  stateBefore: StageState;
  /** The same stage already stored (and still usable). */
  stored?: { image: StoredImage; state: StageState };
}

export interface StageReport {
  name: StageName;
  signature: string;
  status: 'cached' | 'built' | 'to-build';
  durationMs: number;
  reason?: string;
  size?: number;
}

export interface ImageReport {
  name: string;
  final: { digest: string; ref: string };
  stages: StageReport[];
}

export type ContextFactory = (image: ImageSpec) => BuildContext;

/**
 * The non-empty stages of an image with their signatures and what is already stored; nothing is
 * run. A stage's signature can depend on what its parent carries (git commits), which is what the
 * stored parent recorded, or what building the parent will produce.
 */
export async function planImage(ctx: BuildContext, storage: StageLookup): Promise<PlannedStage[]> {
  const planned: PlannedStage[] = [];
  let parent: string | null = null;
  let state: StageState = {};
  for (const stage of IMAGE_CONVEYOR) {
    const inputs = await stage.inputs(ctx, state);
    if (inputs === undefined) continue;
    const signature = computeSignature(stage.name, parent, inputs);
    const got = await storage.getStage(signature);
    let stored: PlannedStage['stored'];
    if (got) {
      const storedState = (got.record.state ?? {}) as StageState;
      if (!stage.reusable || (await stage.reusable(ctx, storedState))) stored = { image: got.image, state: storedState };
    }
    planned.push({ name: stage.name, signature, parent, inputs, stage, stateBefore: state, ...(stored ? { stored } : {}) });
    state = stored ? stored.state : (stage.builtState?.(ctx, state) ?? state);
    parent = signature;
  }
  return planned;
}

/** Images ordered so that every image comes after the images it is based on. */
export function buildOrder(config: WerfConfig, only: string[] = []): ImageSpec[] {
  const byName = new Map(config.images.map((i) => [i.name, i]));
  for (const n of only) {
    if (!byName.has(n)) {
      throw new TsbuildError('TSB_USAGE', `image "${n}" is not defined in ${config.file}`, {
        hint: `defined images: ${config.images.map((i) => i.name || '~').join(', ')}`,
      });
    }
  }
  const order: ImageSpec[] = [];
  const seen = new Set<string>();
  const visit = (img: ImageSpec): void => {
    if (seen.has(img.name)) return;
    seen.add(img.name);
    for (const d of imageDependencies(img, byName)) visit(byName.get(d)!);
    order.push(img);
  };
  const roots = only.length ? only.map((n) => byName.get(n)!) : config.images;
  for (const img of roots) visit(img);
  return order;
}

/** Names of the images of this config that `img` needs built first. */
export function imageDependencies(img: ImageSpec, byName: ReadonlyMap<string, ImageSpec>): string[] {
  const deps = [img.fromImage, img.fromArtifact, ...img.imports.map((i) => i.image ?? i.artifact), ...img.dependencies.map((d) => d.image)];
  if (img.from !== undefined && byName.has(img.from) && img.from !== img.name) deps.push(img.from);
  return [...new Set(deps.filter((d): d is string => d !== undefined && byName.has(d)))];
}

/** Finding a stored stage by signature (the local store, possibly followed by registries). */
export interface StageLookup {
  getStage(signature: string): Promise<{ image: StoredImage; record: { state?: Record<string, unknown> } } | undefined>;
}

export interface ImageBuildResult {
  report: ImageReport;
  final: StoredImage;
  finalSignature: string;
}

export async function buildImage(ctx: BuildContext, storage: StagesStorage, finalRef: string): Promise<ImageBuildResult> {
  // Without git mappings no signature depends on what a stored stage recorded, so the plan needs
  // only the local store, and registries are asked from the last stage backwards: a fully cached
  // image costs one request. With git mappings every stage's signature may depend on its parent's
  // recorded commits, so stages are looked up (locally, then in registries) in order.
  const plan = await planImage(ctx, ctx.git.length > 0 ? storage : storage.local);
  ctx.onEvent({ type: 'image.start', image: ctx.image.name });
  // Walk back from the last stage: the newest stored stage is where building resumes.
  let resumeAt = -1;
  let current: StoredImage | undefined;
  for (let i = plan.length - 1; i >= 0; i--) {
    const p = plan[i]!;
    const got = p.stored ?? (ctx.git.length === 0 && storage.remotes.length > 0 ? await storage.getStage(p.signature) : undefined);
    if (got) {
      resumeAt = i;
      current = got.image;
      break;
    }
  }
  if (current && resumeAt < plan.length - 1) await storage.materialize(current);
  const stages: StageReport[] = [];
  for (let i = 0; i <= resumeAt; i++) {
    const p = plan[i]!;
    stages.push({ name: p.name, signature: p.signature, status: 'cached', durationMs: 0 });
    ctx.onEvent({ type: 'stage.cached', image: ctx.image.name, stage: p.name, signature: p.signature });
  }
  for (let i = resumeAt + 1; i < plan.length; i++) {
    const p = plan[i]!;
    ctx.signal?.throwIfAborted();
    const explanation = explainRebuild(p.name, p.inputs, p.parent, await storage.candidates(ctx.image.name, p.name), plan[i - 1]?.name);
    const reason = await explainWithFiles(p.name, explanation, p.inputs, ctx.git).catch(() => explanation.text);
    ctx.onEvent({ type: 'stage.start', image: ctx.image.name, stage: p.name, signature: p.signature, reason });
    if (current) await storage.materialize(current);
    const started = performance.now();
    let built: StoredImage;
    try {
      built = await p.stage.build(current, ctx, p.stateBefore);
    } catch (err) {
      ctx.onEvent({ type: 'stage.failed', image: ctx.image.name, stage: p.name, error: (err as Error).message });
      throw err;
    }
    await storage.put(
      {
        project: ctx.project,
        imageName: ctx.image.name,
        stage: p.name,
        signature: p.signature,
        parent: p.parent,
        inputs: p.inputs,
        created: new Date().toISOString(),
        state: { ...(p.stage.builtState?.(ctx, p.stateBefore) ?? p.stateBefore) },
      },
      built,
    );
    const durationMs = Math.round(performance.now() - started);
    const last = built.manifest.layers[built.manifest.layers.length - 1];
    const size = built.manifest.layers.length > (current?.manifest.layers.length ?? 0) && last ? last.size : 0;
    stages.push({ name: p.name, signature: p.signature, status: 'built', durationMs, reason, size });
    ctx.onEvent({ type: 'stage.built', image: ctx.image.name, stage: p.name, signature: p.signature, durationMs, size });
    current = built;
  }
  if (!current) throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}" has no stages`);
  // Artifacts and `final: false` images are stored like final images (imports, run) but are not published.
  const A = TSBUILD_ANNOTATION;
  const role: Record<string, string> = ctx.image.isArtifact ? { [A.final]: 'false', [A.artifact]: 'true' } : ctx.image.final ? {} : { [A.final]: 'false' };
  await ctx.store.setRef(finalRef, current.descriptor, { [A.kind]: 'final', [A.project]: ctx.project, [A.image]: ctx.image.name, ...role });
  ctx.onEvent({ type: 'image.done', image: ctx.image.name, digest: current.descriptor.digest });
  return {
    report: { name: ctx.image.name, final: { digest: current.descriptor.digest, ref: finalRef }, stages },
    final: current,
    finalSignature: plan[plan.length - 1]!.signature,
  };
}
