export * from './types.js';
export { loadConfig, renderConfig, type LoadOptions } from './load.js';
export { splitAndParse } from './yaml-docs.js';
export { buildConfig } from './schema.js';
