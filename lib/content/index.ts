export * from './layout-store.js';
