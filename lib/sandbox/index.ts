export * from './types.js';
export * from './paths.js';
