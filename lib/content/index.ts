export * from './content-store.js';
export * from './layout-store.js';
export * from './gc.js';
export * from './leases.js';
export { openStore } from './open-store.js';
export { resolveLocal, requireLocal, type LocalImage } from './resolve-local.js';
export { withStoreLease } from './with-store-lease.js';
