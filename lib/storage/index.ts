export * from './local-stages.js';
