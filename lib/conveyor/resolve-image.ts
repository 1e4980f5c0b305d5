// The one decision `build`, `plan` and `build --dry-run` share: for an image, every stage's
// signature, the newest stored stage to resume from, and why each later stage must be built.
import { explainRebuild, explainWithFiles } from './explain.js';
import { IMAGE_CONVEYOR } from './image-conveyor.js';
import { computeSignature } from './signature.js';
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
}

/**
 * Signatures are computed stage by stage; a stage's may depend on what its parent carries (git
 * commits), which is what the stored parent recorded or what building the parent will produce.
 * Without git mappings no signature depends on a stored record, so stages are first looked up
 * locally and the repositories are asked from the last stage backwards: a fully cached image costs
 * one request. With git mappings every stage is looked up (local, then repositories) in order.
 */
export async function resolveImage(ctx: PlanContext, lookup: StageLookup): Promise<ImagePlan> {
  const forward = ctx.git.length > 0;
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
    const got = forward ? await findStage(lookup, signature) : await lookup.local(signature);
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
  return { imageName: ctx.image.name, stages, resumeAt, ...(resume ? { resume } : {}), ...(unknown ? { unknown } : {}) };
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
