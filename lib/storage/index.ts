export * from './local-stages.js';
export * from './registry-stages.js';
export * from './stages-storage.js';
