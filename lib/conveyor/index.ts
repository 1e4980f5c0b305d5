export * from './conveyor.js';
export * from './signature.js';
export * from './stage.js';
export { baseImageResolver, type PullPolicy, type BaseImages } from './base-image.js';
export { applyDocker, commandForm } from './docker-config.js';
export { stageEnv, BASH_STATIC, inspectPath } from './run-in-stage.js';
export { resolveMounts, type StageMount } from './mounts.js';
export { resolveUser, resolveGroup } from './image-users.js';
