export * from './stored-image.js';
export * from './archive.js';
export * from './archive-save.js';
export { loadImageArchive, readArchive, type LoadArchiveOptions, type LoadArchiveResult, type LoadedImage } from './archive-load.js';
export { recompressImage, type RecompressResult } from './recompress-image.js';
