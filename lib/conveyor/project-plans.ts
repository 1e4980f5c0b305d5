// What one image's plan needs of the others: their signatures (planned or built before it), and
// the per-image PlanContext, built the same way for `plan` and `build`.
import type { ImageSpec, ImportSpec, WerfConfig } from '../config/index.js';
import type { ImageStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import type { EventSink } from '../events.js';
import type { BaseImages } from './base-image.js';
import type { GitSources } from './git-sources.js';
import type { ImagePlan } from './resolve-image.js';
import { UnknownUntilBuilt, type PlanContext } from './stage.js';
import { sourceName } from './import-checksums.js';
import { gitMappingWarnings } from './git-warnings.js';

/** What every image of one plan or build shares. */
export interface ProjectEnv {
  config: WerfConfig;
  store: ImageStore;
  bases: BaseImages;
  git: GitSources;
  /** Directory for small caches that survive builds (import checksums). */
  cacheDir: string;
  stapelImage?: string;
  finalRefOf(imageName: string): string;
  onEvent: EventSink;
  signal?: AbortSignal | undefined;
}

/** The plans made so far, by image name: where other images' signatures come from. */
export class ProjectPlans {
  readonly plans = new Map<string, ImagePlan>();

  /** The last stage's signature of `imageName` (or that of `stage`). */
  signatureOf(imageName: string, stage?: string): string {
    const p = this.plans.get(imageName);
    if (!p) throw new TsbuildError('TSB_INTERNAL', `image "${imageName}" was not planned before the images that depend on it`);
    if (stage === undefined) {
      if (p.unknown) throw new UnknownUntilBuilt(p.unknown.waitsFor, p.unknown.why);
      const last = p.stages[p.stages.length - 1];
      if (!last) throw new TsbuildError('TSB_INTERNAL', `image "${imageName}" has no stages`);
      return last.signature;
    }
    const s = p.stages.find((x) => x.name === stage);
    if (s) return s.signature;
    if (p.unknown?.stages.includes(stage as never)) throw new UnknownUntilBuilt(p.unknown.waitsFor, p.unknown.why);
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `image "${imageName}" has no ${stage} stage to import from`, {
      hint: 'import from a stage that has instructions, or omit `stage`',
    });
  }

  /** The image an import takes files from, and the signature of the stage it takes them from. */
  importSource(imp: ImportSpec): { imageName: string; signature: string } {
    const imageName = sourceName(imp);
    return { imageName, signature: this.signatureOf(imageName, imp.stage) };
  }
}

export async function planContext(
  env: ProjectEnv,
  image: ImageSpec,
  plans: ProjectPlans,
  importChecksum: (imp: ImportSpec) => Promise<string>,
): Promise<PlanContext> {
  const git = await env.git.forImage(image);
  // Said here, where plan and build both come once per image: what the build would hit in the mappings.
  for (const w of await gitMappingWarnings(image, git)) env.onEvent(w);
  return {
    project: env.config.project,
    image,
    store: env.store,
    bases: env.bases,
    internalImages: new Set(env.config.images.map((i) => i.name)),
    signatureOf: (n, stage) => plans.signatureOf(n, stage),
    importChecksum,
    finalRefOf: env.finalRefOf,
    cacheDir: env.cacheDir,
    git,
    ...(env.stapelImage ? { stapelImage: env.stapelImage } : {}),
    onEvent: env.onEvent,
    signal: env.signal,
  };
}

/** The imports other images of the config take from `imageName` (their checksums are recorded when it is built). */
export function importsFrom(config: WerfConfig, imageName: string): ImportSpec[] {
  return config.images.flatMap((i) => i.imports.filter((imp) => (imp.image ?? imp.artifact) === imageName));
}
