export * from './content-store.js';
export * from './layout-store.js';
export * from './gc.js';
export * from './leases.js';
