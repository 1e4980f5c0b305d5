// Planning the images of a config without running anything: each image in dependency order,
// through the same resolveImage as building; an import whose source is not built yet makes the
// rest of that image (and the images built on it) "unknown until <image> is built".
import type { ImageSpec, ImportSpec } from '../config/index.js';
import { planImportChecksum } from './import-checksums.js';
import { ProjectPlans, planContext, type ProjectEnv } from './project-plans.js';
import { resolveImage, type ImagePlan } from './resolve-image.js';
import { findStage, type StageLookup } from './stage-lookup.js';
import { TsbuildError } from '../errors.js';
import { IMAGE_CONVEYOR } from './image-conveyor.js';
import { UnknownUntilBuilt, type PlanContext, type StageName } from './stage.js';

export async function planProject(env: ProjectEnv, order: readonly ImageSpec[], lookup: StageLookup): Promise<ImagePlan[]> {
  const plans = new ProjectPlans();
  const out: ImagePlan[] = [];
  const sources = { source: plans.importSource.bind(plans), find: (sig: string) => findStage(lookup, sig) };
  for (const image of order) {
    let ctx: PlanContext | undefined;
    const importChecksum = (imp: ImportSpec): Promise<string> => planImportChecksum(ctx!, sources, imp);
    let plan: ImagePlan;
    try {
      ctx = await planContext(env, image, plans, importChecksum);
      plan = await resolveImage(ctx, lookup);
    } catch (err) {
      // A remote git repository that cannot be reached: the image's signatures wait for it (building
      // needs it anyway and will say so); the rest of the project is still planned.
      if (!(err instanceof TsbuildError && err.code === 'TSB_GIT_REMOTE')) throw err;
      ctx = { ...(await planContext(env, { ...image, git: [] }, plans, importChecksum)), image };
      const stages = await stagesOf(ctx).catch(() => ['from' as const]);
      plan = {
        imageName: image.name,
        stages: [],
        resumeAt: -1,
        unknown: { stages, why: `unknown until its git repository can be fetched: ${err.message}`, waitsFor: image.name },
      };
      env.onEvent({ type: 'warning', message: err.message }); // it names the image and the mapping's line
    }
    plans.plans.set(image.name, plan);
    out.push(plan);
  }
  return out;
}

/** The stages an image will have, as far as they can be told without its git sources. */
async function stagesOf(ctx: PlanContext): Promise<StageName[]> {
  const out: StageName[] = [];
  for (const stage of IMAGE_CONVEYOR) {
    if (stage.name === 'gitArchive') {
      out.push(stage.name);
      continue;
    }
    try {
      if ((await stage.inputs(ctx, {})) !== undefined) out.push(stage.name);
    } catch (err) {
      if (!(err instanceof UnknownUntilBuilt)) throw err;
      out.push(stage.name);
    }
  }
  return out;
}
