// The layer module: tar codec, layer compression, overlay diff → OCI layer, safe unpack.
export {
  writeLayerFromUpperDir,
  writeLayerFromDir,
  writeLayerFromEntries,
  storeTarStream,
  type WriteLayerOptions,
  type LayerResult,
  type UpperLayerResult,
  type LayerEntrySource,
} from './diff-layer.js';
export { unpackLayer, type UnpackOptions, type UnpackResult } from './unpack.js';
export { createLayerGzip, createLayerGunzip, type GzipMode, type GzipOptions } from './compress.js';
export { GzipPool, gzipPool } from './gzip-pool.js';
export { DEFAULT_LAYER_COMPRESSION, parseLayerCompression, createLayerCompressor, createLayerDecompressor, warmLayerWriter } from './layer-compression.js';
export { createZstdCompress, createZstdDecompress, ZSTD_DEFAULT_LEVEL } from './zstd.js';
export { encodeEntryHeader, padding, END_OF_ARCHIVE, TarChunker, type TarEntry, type TarEntryType } from './tar-writer.js';
export { TarParser, DEFAULT_TAR_LIMITS, type TarReadLimits, type TarReadHandler } from './tar-reader.js';
export { encodeRawHeader, encodePaxRecords, TypeFlag, BLOCK, type RawHeader } from './tar-format.js';
export { treeTarStream, type TreeTarStream } from './tree-tar-stream.js';
export type { TreeTarOptions, TreeTarStats } from './tree-tar.js';
export { fsx, type Fsx } from './fsx.js';
export { layerMtime } from './layer-mtime.js';
export { checkUtf8Names, treePathTooLong } from './entry-limits.js';
