export * from './content-store.js';
export * from './layout-store.js';
export * from './gc.js';
export * from './leases.js';
export { openStore } from './open-store.js';
export { resolveLocal } from './resolve-local.js';
