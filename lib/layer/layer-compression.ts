// Which compression tsbuild writes layers with (--layer-compression gzip | zstd[:LEVEL]) and the
// matching compressor, decompressor and media type. The choice changes layer bytes and digests,
// never stage signatures: a stage is the same stage whichever way its layer is compressed.
import type { Duplex, Transform } from 'node:stream';
import { TsbuildError } from '../errors.js';
import type { LayerCompression, LayerCompressionSpec } from '../oci/index.js';
import { DEFAULT_LAYER_GZIP, createLayerGunzip, createLayerGzip, type GzipMode } from './compress.js';
import { ZSTD_DEFAULT_LEVEL, ZSTD_MAX_LEVEL, createZstdCompress, createZstdDecompress } from './zstd.js';
import { gzipPool } from './gzip-pool.js';
import { warmPackWorker } from './tree-tar-stream.js';

export const DEFAULT_LAYER_COMPRESSION: LayerCompressionSpec = { format: 'gzip' };

/** Parse `gzip`, `zstd` or `zstd:LEVEL` (1-19). gzip's level is part of tsbuild's layer format (6). */
export function parseLayerCompression(text: string): LayerCompressionSpec {
  const m = /^(gzip|zstd)(?::(\d+))?$/.exec(text.trim().toLowerCase());
  const hint = `use gzip, zstd or zstd:LEVEL with LEVEL 1-${ZSTD_MAX_LEVEL} (default ${ZSTD_DEFAULT_LEVEL})`;
  if (!m) throw new TsbuildError('TSB_USAGE', `unknown layer compression "${text}"`, { hint });
  if (m[1] === 'gzip') {
    if (m[2] !== undefined && Number(m[2]) !== 6) {
      throw new TsbuildError('TSB_USAGE', `gzip layers are always written at level 6 (the level is part of tsbuild's reproducible layer format)`, { hint });
    }
    return { format: 'gzip' };
  }
  const level = m[2] === undefined ? ZSTD_DEFAULT_LEVEL : Number(m[2]);
  if (level < 1 || level > ZSTD_MAX_LEVEL) throw new TsbuildError('TSB_USAGE', `zstd level ${level} is out of range`, { hint });
  return { format: 'zstd', level };
}

export function createLayerCompressor(spec: LayerCompressionSpec, gzipMode: GzipMode = DEFAULT_LAYER_GZIP): Transform | Duplex {
  return spec.format === 'zstd' ? createZstdCompress(spec.level) : createLayerGzip({ mode: gzipMode });
}

/**
 * Start the threads that writing a layer of a directory uses (the tar worker, and the gzip pool for
 * gzip), so they load while something else runs (a stage) rather than when the layer is written.
 */
export function warmLayerWriter(spec: LayerCompressionSpec = DEFAULT_LAYER_COMPRESSION): void {
  warmPackWorker();
  if (spec.format === 'gzip') gzipPool().warm();
}

/** The decompressor for a layer's compression, or undefined for a plain tar. */
export function createLayerDecompressor(compression: LayerCompression): Transform | Duplex | undefined {
  if (compression === 'gzip') return createLayerGunzip();
  if (compression === 'zstd') return createZstdDecompress();
  return undefined;
}
