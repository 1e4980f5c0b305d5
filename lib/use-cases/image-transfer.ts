// The image use cases that move images between registries, archives and the local store (and list
// what it holds): an entry of their own, imported by cli/commands/image.ts instead of the facade.
// `image push` and `image pull` run from a lean bundle (bin/cli-cache.cjs, image-transfer) where
// every module imported here is evaluated at start; use-cases/index.ts would add the conveyor,
// config and templates (~0.8 MB of bundle). So: nothing here may import the conveyor, config, git or
// storage, and lib/image and lib/layer only by import() where needed (save, load, recompression).
// scripts/check-deps.mjs names this file as the one entry to lib/use-cases besides its index.ts.
export { imagePull, type ImagePullOptions, type ImagePullResult } from './image-pull.js';
export { imagePush, type ImagePushOptions, type ImagePushResult } from './image-push.js';
export { imageSave, type ImageSaveOptions, type ImageSaveResult } from './image-save.js';
export { imageLoad, type ImageLoadOptions } from './image-load.js';
export { listImages, type ListedImage } from './image-list.js';
