export * from './local-stages.js';
export * from './registry-stages.js';
export * from './stages-storage.js';
export * from './bundle-save.js';
export * from './bundle-load.js';
export * from './registry-gc.js';
