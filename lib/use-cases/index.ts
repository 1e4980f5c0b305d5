// The use cases the CLI (or any caller) runs; each takes one options object and prints nothing.
export { build, type BuildOptions, type BuildResult, type Runtime } from './build.js';
export { plan, type PlanOptions, type PlanResult, type PlannedStageRow } from './plan.js';
export { runImage, type RunImageOptions } from './run.js';
export { inspectImage, type InspectOptions } from './inspect.js';
export * from './image-transfer.js';
export { destinationFor, type ProjectOptions } from './project-options.js';
export { bundleSave, type BundleSaveOptions, type BundleSaveResult } from './bundle-save.js';
export { bundleLoad, type BundleLoadOptions } from './bundle-load.js';
export { stapelBuild, type StapelBuildUseCaseOptions } from './stapel-build.js';
export {
  listStages,
  listRepositoryStages,
  gcStages,
  gcRepositoryStages,
  purgeStages,
  purgeRepositoryStages,
  type StagesRepository,
  type GcResult,
} from './stages.js';
