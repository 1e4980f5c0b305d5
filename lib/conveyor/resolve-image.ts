// The one decision `build`, `plan` and `build --dry-run` share: for an image, every stage's
// signature, the newest stored stage to resume from, and why each later stage must be built.
import { explainRebuild, explainWithFiles } from './explain.js';
import { IMAGE_CONVEYOR } from './image-conveyor.js';
import { computeSignature } from './signature.js';
import { stageChainKey } from './stage-chain.js';
import { findStage, type FoundStage, type StageLookup } from './stage-lookup.js';
import { UnknownUntilBuilt, type AnyStage, type PlanContext, type StageInputs, type StageName, type StageState } from './stage.js';

export interface PlannedStage {
  name: StageName;
  signature: string;
  parent: string | null;
  inputs: StageInputs;
  stage: AnyStage;
  /** What the parent carries into this stage. */
  stateBefore: StageState;
  /** The same stage already stored (and still usable). */
  stored?: FoundStage;
  /** Why it must be built (stages after the resume point). */
  reason?: string;
}

export interface ImagePlan {
  imageName: string;
  /** The stages whose signatures are known, in order. */
  stages: PlannedStage[];
  /** Index into `stages` of the stored stage building resumes from; -1 when everything is built. */
  resumeAt: number;
  /** The stored stage at `resumeAt`. */
  resume?: FoundStage;
  /** Stages whose signatures wait for another image to be built (the rest of the image). */
  unknown?: { stages: StageName[]; why: string; waitsFor: string };
  /** Git images with stages repositories: the chain key, and whether its tag already names the last stage. */
  chain?: { key: string; hit: boolean };
}

/**
 * Signatures are computed stage by stage; a stage's may depend on what its parent carries (git
 * commits), which is what the stored parent recorded or what building the parent will produce.
 * Without git mappings no signature depends on a stored record, so stages are first looked up
 * locally and the repositories are asked from the last stage backwards: a fully cached image costs
 * one request. With git mappings every stage is looked up (local, then repositories) in order —
 * except those the image's chain (stage-chain.ts, one request) already names with their states.
 */
export async function resolveImage(ctx: PlanContext, lookup: StageLookup): Promise<ImagePlan> {
  const forward = ctx.git.length > 0;
  const chainKey = forward && lookup.hasRemotes && lookup.chain ? stageChainKey(ctx) : undefined;
  const chained = chainKey !== undefined ? await lookup.chain!(chainKey) : undefined;
  const chainStates = new Map(chained?.chain.map((c) => [c.signature, c.state]));
  /** Stages known only from the chain: stored in the repository, but not read. */
  const chainOnly = new Set<string>();
  const stages: PlannedStage[] = [];
  let parent: string | null = null;
  let state: StageState = {};
  let unknown: ImagePlan['unknown'];
  for (const [k, stage] of IMAGE_CONVEYOR.entries()) {
    let inputs: StageInputs | undefined;
    try {
      inputs = await stage.inputs(ctx, state);
    } catch (err) {
      if (!(err instanceof UnknownUntilBuilt)) throw err;
      unknown = { stages: [stage.name, ...(await laterStages(ctx, k + 1, state))], why: err.why, waitsFor: err.imageName };
      break;
    }
    if (inputs === undefined) continue;
    const signature = computeSignature(stage.name, parent, inputs);
    let got: FoundStage | undefined;
    if (!forward) got = await lookup.local(signature);
    else {
      got = await lookup.local(signature);
      if (!got && chained && signature === chained.final.record.signature) got = chained.final;
      const chainState = got ? undefined : chainStates.get(signature);
      if (chainState) {
        chainOnly.add(signature);
        got = {
          record: { project: ctx.project, imageName: ctx.image.name, stage: stage.name, signature, parent, inputs, created: '', state: chainState },
          digest: '',
        };
      }
      got ??= lookup.hasRemotes ? await lookup.remote(signature) : undefined;
    }
    let stored: FoundStage | undefined;
    const storedState = (got?.record.state ?? {}) as StageState;
    if (got && (!stage.reusable || (await stage.reusable(ctx, storedState)))) stored = got;
    stages.push({ name: stage.name, signature, parent, inputs, stage, stateBefore: state, ...(stored ? { stored } : {}) });
    state = stored ? storedState : (stage.builtState?.(ctx, state) ?? state);
    parent = signature;
  }
  // Walk back from the last stage: the newest stored stage is where building resumes.
  let resumeAt = -1;
  let resume: FoundStage | undefined;
  for (let i = stages.length - 1; i >= 0; i--) {
    const p = stages[i]!;
    if (p.stored && chainOnly.has(p.signature)) {
      // Resuming needs the stage itself, not just its state: read it now (one request), or go on back.
      const real = await findStage(lookup, p.signature);
      if (real) p.stored = real;
      else delete p.stored;
    }
    const got = p.stored ?? (!forward && lookup.hasRemotes ? await lookup.remote(p.signature) : undefined);
    if (got) {
      resumeAt = i;
      resume = got;
      break;
    }
  }
  for (let i = resumeAt + 1; i < stages.length; i++) {
    const p = stages[i]!;
    const explanation = explainRebuild(p.name, p.inputs, p.parent, await lookup.candidates(ctx.image.name, p.name), stages[i - 1]?.name);
    p.reason = await explainWithFiles(p.name, explanation, p.inputs, ctx.git).catch(() => explanation.text);
  }
  const last = stages[stages.length - 1];
  const chain =
    chainKey !== undefined && !unknown ? { key: chainKey, hit: chained !== undefined && last?.signature === chained.final.record.signature } : undefined;
  return { imageName: ctx.image.name, stages, resumeAt, ...(resume ? { resume } : {}), ...(unknown ? { unknown } : {}), ...(chain ? { chain } : {}) };
}

/** The stages after one whose signature is unknown that will exist (their inputs are not empty). */
async function laterStages(ctx: PlanContext, from: number, state: StageState): Promise<StageName[]> {
  const out: StageName[] = [];
  for (const stage of IMAGE_CONVEYOR.slice(from)) {
    try {
      if ((await stage.inputs(ctx, state)) !== undefined) out.push(stage.name);
    } catch (err) {
      if (!(err instanceof UnknownUntilBuilt)) throw err;
      out.push(stage.name);
    }
  }
  return out;
}
