export * from './conveyor.js';
export * from './signature.js';
export * from './stage.js';
export { baseImageResolver, parseRegistryMirror, type PullPolicy, type BaseImages, type RegistryMirror } from './base-image.js';
export { applyDocker, commandForm } from './docker-config.js';
export { stageEnv, BASH_STATIC, inspectPath } from './run-in-stage.js';
export { resolveMounts, resolveSecrets, type StageMount } from './mounts.js';
export { resolveUser, resolveGroup } from './image-users.js';
