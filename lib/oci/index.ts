export * from './media-types.js';
export * from './types.js';
export * from './platform.js';
export * from './reference.js';
export * from './limits.js';
export * from './annotations.js';
