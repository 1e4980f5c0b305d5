// Building one image from its plan: the stages after the resume point are built in order on top
// of the stored stage, each stored (locally and in the writable stages repositories) as it is done.
import type { ImportSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import type { StoredImage } from '../image/index.js';
import { TSBUILD_ANNOTATION } from '../oci/index.js';
import type { StageChainEntry, StageRecord } from '../storage/index.js';
import { exportChecksums } from './import-checksums.js';
import type { ImagePlan, PlannedStage } from './resolve-image.js';
import type { AnyStage, BaseStage, BuildContext, StageName, StageState } from './stage.js';

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

export interface ImageBuildResult {
  report: ImageReport;
  final: StoredImage;
  finalSignature: string;
}

/** Where built stages are kept. */
export interface StageWriter {
  /** Keep a built stage; resolves with the stage to continue from (another builder's if it published first). */
  put(record: StageRecord, image: StoredImage): Promise<StoredImage>;
  /** Exclusive right to build this stage here; waits (calling onWait) while another build has it. */
  lockStage?(signature: string, options: { signal?: AbortSignal | undefined; onWait?: () => void }): Promise<{ release(): Promise<void> } | undefined>;
  /** The stage if it is stored locally now (another image of this build, or another build of this home, made it while we waited). */
  getLocalStage?(signature: string): Promise<{ image: StoredImage; record: { state?: Record<string, unknown> } } | undefined>;
  /** Point the chain tag of `key` at the published last stage `signature` (stages repositories). */
  tagChain?(key: string, signature: string): Promise<void>;
}

export interface BuildImageOptions {
  /** The local name of the final image (project/image:latest). */
  finalRef: string;
  /** Imports other images of the config take from this one: their checksums go into the stage records. */
  exports?: readonly ImportSpec[];
  /** True when the build was stopped because another image failed (its stage is "cancelled", not failed). */
  cancelled?: () => boolean;
}

function isBaseStage(stage: AnyStage): stage is BaseStage {
  return stage.name === 'from';
}

async function buildStage(p: PlannedStage, parent: StoredImage | undefined, ctx: BuildContext): Promise<StoredImage> {
  if (isBaseStage(p.stage)) return p.stage.build(ctx);
  if (!parent) throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}": stage ${p.name} has no parent stage`);
  return p.stage.build(parent, ctx, p.stateBefore);
}

export async function buildImage(ctx: BuildContext, plan: ImagePlan, storage: StageWriter, options: BuildImageOptions): Promise<ImageBuildResult> {
  if (plan.unknown) throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}": ${plan.unknown.why} (images are built in dependency order)`);
  ctx.onEvent({ type: 'image.start', image: ctx.image.name, stages: plan.stages.map((p) => ({ stage: p.name, signature: p.signature })) });
  const stages: StageReport[] = [];
  let current = plan.resume?.image ?? (await plan.resume?.open?.());
  if (plan.resumeAt >= 0 && !current) throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}": the stored stage to resume from was not read`);
  const lastName = plan.stages[plan.stages.length - 1]?.name;
  const lastPlanned = plan.stages[plan.stages.length - 1];
  // Every stage with the state it carries forward: recorded on the last stage (stage-chain.ts).
  const chain: StageChainEntry[] = [];
  for (const p of plan.stages.slice(0, plan.resumeAt + 1)) {
    chain.push({ signature: p.signature, state: { ...(p.stored?.record.state ?? {}) } });
    stages.push({ name: p.name, signature: p.signature, status: 'cached', durationMs: 0 });
    ctx.onEvent({ type: 'stage.cached', image: ctx.image.name, stage: p.name, signature: p.signature });
  }
  for (const p of plan.stages.slice(plan.resumeAt + 1)) {
    ctx.signal?.throwIfAborted();
    // One build of a stage at a time in a home: whoever waited reuses what the other one stored.
    const lock = await storage.lockStage?.(p.signature, {
      signal: ctx.signal,
      onWait: () => ctx.onEvent({ type: 'stage.waiting', image: ctx.image.name, stage: p.name, signature: p.signature }),
    });
    try {
      // Stored since we planned (by another build of this home), and usable as the planner would judge it.
      const done = await storage.getLocalStage?.(p.signature);
      if (done && (!p.stage.reusable || (await p.stage.reusable(ctx, (done.record.state ?? {}) as StageState)))) {
        chain.push({ signature: p.signature, state: { ...(done.record.state ?? {}) } });
        stages.push({
          name: p.name,
          signature: p.signature,
          status: 'cached',
          durationMs: 0,
          reason: 'built meanwhile by another image of this build or another build of this home',
        });
        ctx.onEvent({ type: 'stage.cached', image: ctx.image.name, stage: p.name, signature: p.signature });
        current = done.image;
        continue;
      }
      current = await buildOne(p, current);
    } finally {
      await lock?.release();
    }
  }
  async function buildOne(p: PlannedStage, current: StoredImage | undefined): Promise<StoredImage> {
    const reason = p.reason ?? `${p.name}: no stored stage for this image yet`;
    ctx.onEvent({ type: 'stage.start', image: ctx.image.name, stage: p.name, signature: p.signature, reason });
    const started = performance.now();
    let built: StoredImage;
    let importChecksums: Record<string, string> = {};
    try {
      built = await buildStage(p, current, ctx);
      const exports = (options.exports ?? []).filter((i) => (i.stage ?? lastName) === p.name);
      if (exports.length > 0) importChecksums = await exportChecksums(ctx, built, exports);
    } catch (err) {
      if (options.cancelled?.()) ctx.onEvent({ type: 'stage.cancelled', image: ctx.image.name, stage: p.name });
      else ctx.onEvent({ type: 'stage.failed', image: ctx.image.name, stage: p.name, error: (err as Error).message });
      throw err;
    }
    const state = { ...(p.stage.builtState?.(ctx, p.stateBefore) ?? p.stateBefore) };
    chain.push({ signature: p.signature, state });
    const kept = await storage.put(
      {
        project: ctx.project,
        imageName: ctx.image.name,
        stage: p.name,
        signature: p.signature,
        parent: p.parent,
        inputs: p.inputs,
        created: new Date().toISOString(),
        state,
        ...(Object.keys(importChecksums).length > 0 ? { importChecksums } : {}),
        ...(plan.chain && p === lastPlanned ? { chain } : {}),
      },
      built,
    );
    const durationMs = Math.round(performance.now() - started);
    const last = built.manifest.layers[built.manifest.layers.length - 1];
    const size = built.manifest.layers.length > (current?.manifest.layers.length ?? 0) && last ? last.size : 0;
    stages.push({ name: p.name, signature: p.signature, status: 'built', durationMs, reason, size });
    ctx.onEvent({ type: 'stage.built', image: ctx.image.name, stage: p.name, signature: p.signature, durationMs, size });
    return kept;
  }
  if (!current) throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}" has no stages`);
  // Artifacts and `final: false` images are stored like final images (imports, run) but are not published.
  const A = TSBUILD_ANNOTATION;
  const role: Record<string, string> = ctx.image.isArtifact ? { [A.final]: 'false', [A.artifact]: 'true' } : ctx.image.final ? {} : { [A.final]: 'false' };
  await ctx.store.setRef(options.finalRef, current.descriptor, { [A.kind]: 'final', [A.project]: ctx.project, [A.image]: ctx.image.name, ...role });
  // The chain tag follows the last stage: next time, one request resolves the whole image.
  if (plan.chain && !plan.chain.hit && lastPlanned && storage.tagChain) await storage.tagChain(plan.chain.key, lastPlanned.signature);
  ctx.onEvent({ type: 'image.done', image: ctx.image.name, digest: current.descriptor.digest });
  return {
    report: { name: ctx.image.name, final: { digest: current.descriptor.digest, ref: options.finalRef }, stages },
    final: current,
    finalSignature: plan.stages[plan.stages.length - 1]!.signature,
  };
}
