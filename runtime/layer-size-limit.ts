// The cap on a layer's uncompressed size when it is unpacked into a snapshot: a 6 MB gzip stream can
// expand to 6 GiB of zeros (catalog A8). Default 32 GiB; TSBUILD_MAX_LAYER_SIZE or --max-layer-size.
import { TsbuildError } from '../lib/errors.js';

export const DEFAULT_MAX_LAYER_BYTES = 32 * 2 ** 30;

const UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 2 ** 10,
  kb: 2 ** 10,
  kib: 2 ** 10,
  m: 2 ** 20,
  mb: 2 ** 20,
  mib: 2 ** 20,
  g: 2 ** 30,
  gb: 2 ** 30,
  gib: 2 ** 30,
  t: 2 ** 40,
  tb: 2 ** 40,
  tib: 2 ** 40,
};

/** "512M", "8G", "1073741824" → bytes (binary units). */
function parseSize(what: string, text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
  if (!m || unit === undefined || Number(m[1]) <= 0) {
    throw new TsbuildError('TSB_USAGE', `${what} must be a size such as 512M, 8G or a number of bytes (got "${text}")`);
  }
  return Math.floor(Number(m[1]) * unit);
}

/** The limit from the flag, else $TSBUILD_MAX_LAYER_SIZE, else the default. */
export function maxLayerBytes(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): number {
  if (flag !== undefined) return parseSize('--max-layer-size', flag);
  const v = env.TSBUILD_MAX_LAYER_SIZE;
  return v ? parseSize('TSBUILD_MAX_LAYER_SIZE', v) : DEFAULT_MAX_LAYER_BYTES;
}

/** The unpacker's TSB_TOO_LARGE, said about this layer and with the way to raise the limit. */
export function layerTooLarge(err: unknown, digest: string, limit: number): unknown {
  if (!(err instanceof TsbuildError) || err.code !== 'TSB_TOO_LARGE') return err;
  return new TsbuildError('TSB_TOO_LARGE', `layer ${digest} expands to more than ${limit} bytes uncompressed (the layer size limit); nothing was unpacked`, {
    hint: 'a decompression bomb, or a really large layer: raise the limit with --max-layer-size SIZE or TSBUILD_MAX_LAYER_SIZE=SIZE (e.g. 64G)',
    cause: err,
  });
}
