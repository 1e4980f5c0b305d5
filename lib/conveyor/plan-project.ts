// Planning the images of a config without running anything: each image in dependency order,
// through the same resolveImage as building; an import whose source is not built yet makes the
// rest of that image (and the images built on it) "unknown until <image> is built".
import type { ImageSpec } from '../config/index.js';
import { planImportChecksum } from './import-checksums.js';
import { ProjectPlans, planContext, type ProjectEnv } from './project-plans.js';
import { resolveImage, type ImagePlan } from './resolve-image.js';
import { findStage, type StageLookup } from './stage-lookup.js';
import { UnknownUntilBuilt } from './stage.js';

export async function planProject(env: ProjectEnv, order: readonly ImageSpec[], lookup: StageLookup): Promise<ImagePlan[]> {
  const plans = new ProjectPlans();
  const out: ImagePlan[] = [];
  const sources = { source: plans.importSource.bind(plans), find: (sig: string) => findStage(lookup, sig) };
  for (const image of order) {
    const ctx = await planContext(env, image, plans, (imp) => planImportChecksum(env.cacheDir, sources, imp));
    let plan: ImagePlan;
    try {
      plan = await resolveImage(ctx, lookup);
    } catch (err) {
      // An image whose very first stage waits for another image (`fromImage` of an unknown one).
      if (!(err instanceof UnknownUntilBuilt)) throw err;
      plan = { imageName: image.name, stages: [], resumeAt: -1, unknown: { stages: ['from'], why: err.why, waitsFor: err.imageName } };
    }
    plans.plans.set(image.name, plan);
    out.push(plan);
  }
  return out;
}
