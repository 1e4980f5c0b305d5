// Building the images of a config: the scheduler runs one task per image, each resolving its plan
// (resolveImage, the same decision `plan` shows) once the images it needs are built, then building.
import type { ImageSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import { layerSources, type StoredImage } from '../image/index.js';
import type { LayerCompressionSpec } from '../oci/index.js';
import type { Sandbox, Snapshotter } from '../sandbox/index.js';
import type { StagesStorage } from '../storage/index.js';
import { buildImage, type ImageBuildResult } from './build-image.js';
import { buildImportChecksum, externalSource, knownImportChecksum } from './import-checksums.js';
import { imageDependencies } from './image-conveyor.js';
import { resolveMounts, resolveSecrets, type MountDirs } from './mounts.js';
import { ProjectPlans, importsFrom, planContext, type ProjectEnv } from './project-plans.js';
import { resolveImage } from './resolve-image.js';
import { schedule, type TaskControl } from './scheduler.js';
import { buildLookup, findStage } from './stage-lookup.js';
import type { BuildContext } from './stage.js';

export interface BuildProjectOptions {
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  storage: StagesStorage;
  /** Temp dir of this build (tmp_dir mounts) and the other mount roots. */
  dirs: MountDirs;
  tmpDir: string;
  parallel?: number;
  /** --layer-compression (not in signatures). */
  layerCompression?: LayerCompressionSpec;
  /** Clamp the mtimes of what stages write (reproducible images). */
  sourceDateEpoch?: number;
  /** The local name of an image's final image. */
  localRefOf(imageName: string): string;
  /** Runs once an image is built (and before the images that need it start): the push. */
  afterImage?(image: ImageSpec, built: ImageBuildResult, signal: AbortSignal): Promise<void>;
}

export async function buildProject(env: ProjectEnv, order: readonly ImageSpec[], options: BuildProjectOptions): Promise<Map<string, ImageBuildResult>> {
  const { storage } = options;
  const lookup = buildLookup(storage);
  const plans = new ProjectPlans();
  const finals = new Map<string, StoredImage>();
  const byName = new Map(env.config.images.map((i) => [i.name, i]));
  const layers = (image: StoredImage) => layerSources(env.store, image, storage.blobSources);
  const finalImageOf = (n: string): StoredImage => {
    const f = finals.get(n);
    if (!f) throw new TsbuildError('TSB_INTERNAL', `image "${n}" was not built before the images that depend on it`);
    return f;
  };
  const stageOf = async (n: string, stage?: string): Promise<{ image: StoredImage; signature: string }> => {
    const signature = plans.signatureOf(n, stage);
    if (stage === undefined) return { image: finalImageOf(n), signature };
    const image = await storage.get(signature);
    if (!image)
      throw new TsbuildError('TSB_STORE_NOT_FOUND', `stage ${stage} of image "${n}" (${signature.slice(0, 12)}) is not in the store`, {
        hint: 'build again; the stage was removed by gc',
      });
    return { image, signature };
  };
  const task = async (image: ImageSpec, control: TaskControl): Promise<ImageBuildResult> => {
    const imageEnv: ProjectEnv = { ...env, signal: control.signal };
    let ctx: BuildContext | undefined;
    const importChecksum = async (imp: Parameters<BuildContext['importChecksum']>[0]): Promise<string> => {
      if (externalSource(imp) !== undefined) return buildImportChecksum(ctx!, imp);
      const found = await findStage(lookup, plans.importSource(imp).signature);
      const known = found && (await knownImportChecksum(env.cacheDir, found, imp));
      return known ?? buildImportChecksum(ctx!, imp);
    };
    const planCtx = await planContext(imageEnv, image, plans, importChecksum);
    ctx = {
      ...planCtx,
      stapelWorkDir: options.tmpDir,
      sandbox: options.sandbox,
      snapshotter: options.snapshotter,
      finalImageOf,
      stageOf,
      layers,
      tmpDir: options.tmpDir,
      ...(options.layerCompression ? { layerCompression: options.layerCompression } : {}),
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
      mounts: [...(await resolveMounts(env.config.project, image, options.dirs)), ...(await resolveSecrets(image, options.dirs))],
    };
    const plan = await resolveImage(ctx, lookup);
    plans.plans.set(image.name, plan);
    const built = await buildImage(ctx, plan, storage, {
      finalRef: options.localRefOf(image.name),
      exports: importsFrom(env.config, image.name),
      cancelled: control.cancelled,
    });
    finals.set(image.name, built.final);
    await options.afterImage?.(image, built, control.signal);
    return built;
  };
  return schedule(order, (img) => imageDependencies(img, byName), task, {
    ...(options.parallel !== undefined ? { parallel: options.parallel } : {}),
    signal: env.signal,
    onCancelled: (imageName) => env.onEvent({ type: 'image.cancelled', image: imageName }),
    onFailed: (imageName, err) => env.onEvent({ type: 'image.failed', image: imageName, error: (err as Error)?.message ?? String(err) }),
  });
}
