// Digest values ("sha256:<hex>") and hashing while streaming.
import { createHash, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { DigestMismatchError, TsbuildError } from './errors.js';

export type Digest = `sha256:${string}`;

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && DIGEST_RE.test(value);
}

export function parseDigest(value: string, what = 'digest'): Digest {
  if (!isDigest(value)) {
    throw new TsbuildError('TSB_DIGEST_INVALID', `invalid ${what} "${value.slice(0, 100)}": expected sha256:<64 hex chars>`);
  }
  return value;
}

export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}

export function sha256(data: string | Uint8Array): Digest {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export interface DigestingOptions {
  /** More bytes than `bytes` fail the stream as they arrive, with the error `error` makes. */
  limit?: { bytes: number; error: (bytes: number) => Error };
  /** At the end: an error makes the stream fail instead of ending (a digest or size mismatch). */
  verify?: (digest: Digest, bytes: number) => Error | undefined;
}

/**
 * Pass-through stream that hashes and counts what flows through it (chunks are passed on, not
 * copied); optionally bounded in size and verified at the end. The one hash-while-streaming of
 * tsbuild: layer digests and diffIds, blob verification on read.
 */
export class DigestingStream extends Transform {
  private readonly hash: Hash = createHash('sha256');
  bytes = 0;
  private result: Digest | undefined;

  constructor(private readonly options: DigestingOptions = {}) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    const limit = this.options.limit;
    if (limit && this.bytes > limit.bytes) return cb(limit.error(this.bytes));
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    this.result = `sha256:${this.hash.digest('hex')}`;
    cb(this.options.verify?.(this.result, this.bytes));
  }

  /** Available after the stream ended. */
  digest(): Digest {
    if (!this.result) throw new TsbuildError('TSB_INTERNAL', 'digest requested before the stream ended');
    return this.result;
  }
}

/** A DigestingStream that fails unless exactly `size` bytes (when given) with digest `expected` flow through. */
export function verifyingStream(what: string, expected: Digest, size?: number): DigestingStream {
  return new DigestingStream({
    ...(size !== undefined
      ? { limit: { bytes: size, error: () => new TsbuildError('TSB_SIZE_MISMATCH', `${what}: more than the expected ${size} bytes`) } }
      : {}),
    verify: (actual, bytes) => {
      if (actual !== expected) return new DigestMismatchError(what, expected, actual);
      if (size !== undefined && bytes !== size) return new TsbuildError('TSB_SIZE_MISMATCH', `${what}: expected ${size} bytes, got ${bytes}`);
      return undefined;
    },
  });
}
