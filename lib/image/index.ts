export * from './stored-image.js';
