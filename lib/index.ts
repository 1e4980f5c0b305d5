// The public facade: the use cases (build, plan, run, image pull/push/inspect/save/load/list, bundle, stages,
// stapel build) and what callers need to wire them.
export * from './use-cases/index.js';
export { loadConfig } from './config/index.js';
export { formatReference } from './oci/index.js';
export { homePaths, type HomePaths } from './home.js';
