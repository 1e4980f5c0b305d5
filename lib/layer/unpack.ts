// unpackLayer: compressed layer stream → verified, safely extracted directory. The main thread
// hashes the compressed bytes (digest) and, after gunzip, the tar bytes (diffId) and caps the
// expansion; a worker parses the tar and writes files with synchronous calls.
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { realpathSync, statSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { DigestingStream, type Digest } from '../digest.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import { createLayerDecompressor } from './layer-compression.js';
import { DEFAULT_TAR_LIMITS, type TarReadLimits } from './tar-reader.js';
import { fromWire, type WireError } from './worker-error.js';

export interface UnpackOptions {
  /**
   * 'overlay': destDir is a fresh directory that becomes an overlayfs lowerdir: `.wh.x` → char 0/0
   * device x, `.wh..wh..opq` → opaque xattr on its dir. 'apply': flatten onto an existing tree:
   * `.wh.x` deletes x, `.wh..wh..opq` removes the lower content of its dir.
   */
  mode: 'overlay' | 'apply';
  compression: 'gzip' | 'none' | 'zstd';
  /** Not real root: devices skipped with a warning, opaque markers as user.overlay.opaque (userxattr mounts). */
  rootless?: boolean;
  /** lchown entries (default: when the process runs as uid 0, e.g. root in a user namespace). */
  chown?: boolean;
  /** Apply xattrs from the layer (default true; overlay markers from a layer are always dropped). */
  xattrs?: boolean;
  /** Expected values; a mismatch fails the unpack (destDir then holds partial content: remove it). */
  expected?: { digest?: Digest; diffId?: Digest; size?: number };
  onWarning?: (message: string) => void;
  limits?: Partial<TarReadLimits>;
  signal?: AbortSignal | undefined;
}

export interface UnpackResult {
  digest: Digest;
  diffId: Digest;
  /** Bytes of the compressed stream. */
  size: number;
  uncompressedSize: number;
  entries: number;
  /** 'overlay' mode: directories made only as parents of entries (root-relative paths). */
  implicitDirs: string[];
  /** 'overlay' mode: entries left out because they only make sense on the parents (hardlinks to their files, whiteouts in their dirs, paths through their symlinks). */
  dependsOnParents: number;
}

const WINDOW = 8;

/** Extract a layer into destDir (which must exist). On failure destDir is left partial: discard it. */
export async function unpackLayer(source: Readable, destDir: string, options: UnpackOptions): Promise<UnpackResult> {
  if (!statSync(destDir).isDirectory()) throw new TsbuildError('TSB_LAYER_INVALID', `${destDir} is not a directory`);
  const root = realpathSync(destDir);
  const limits: TarReadLimits = { ...DEFAULT_TAR_LIMITS, ...options.limits };

  const expectedSize = options.expected?.size;
  const compressedTap = new DigestingStream(
    expectedSize !== undefined
      ? { limit: { bytes: expectedSize, error: () => new TsbuildError('TSB_SIZE_MISMATCH', `layer is larger than the expected ${expectedSize} bytes`) } }
      : {},
  );
  const tarTap = new DigestingStream({
    limit: {
      bytes: limits.maxTotalBytes,
      error: () => new TsbuildError('TSB_TOO_LARGE', `layer expands to more than ${limits.maxTotalBytes} bytes (limit maxTotalBytes); a decompression bomb?`),
    },
  });

  const applyOpts = {
    root,
    mode: options.mode,
    rootless: options.rootless ?? false,
    chown: options.chown ?? process.geteuid?.() === 0,
    xattrs: options.xattrs ?? true,
  };
  const worker = new Worker(new URL('./unpack-worker.js', import.meta.url), { workerData: { apply: applyOpts, limits }, execArgv: [] });
  const sink = workerSink(worker, options.onWarning);
  const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [source, compressedTap];
  const decompress = createLayerDecompressor(options.compression);
  if (decompress) stages.push(decompress);
  stages.push(tarTap, sink.stream);
  try {
    await pipeline(stages, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    await worker.terminate();
    if ((err as Error).name === 'AbortError') throw new TsbuildError('TSB_ABORTED', `unpacking into ${destDir} was cancelled`, { cause: err });
    if ((err as NodeJS.ErrnoException).code?.startsWith('Z_')) {
      throw new TsbuildError('TSB_LAYER_INVALID', `layer is not valid gzip: ${(err as Error).message}`, { cause: err });
    }
    throw err;
  }
  await worker.terminate();
  const digest = compressedTap.digest();
  const diffId = tarTap.digest();
  const compressedSize = compressedTap.bytes;
  const exp = options.expected;
  if (exp?.digest && exp.digest !== digest) throw new DigestMismatchError(`layer ${exp.digest} unpacked into ${destDir}`, exp.digest, digest);
  if (exp?.size !== undefined && exp.size !== compressedSize) {
    throw new TsbuildError('TSB_SIZE_MISMATCH', `layer ${digest}: expected ${exp.size} bytes, got ${compressedSize}`);
  }
  if (exp?.diffId && exp.diffId !== diffId) throw new DigestMismatchError(`diffId of layer ${digest} unpacked into ${destDir}`, exp.diffId, diffId);
  return { digest, diffId, size: compressedSize, uncompressedSize: tarTap.bytes, ...sink.facts() };
}

type Facts = { entries: number; implicitDirs: string[]; dependsOnParents: number };
type Out = { t: 'ack' } | { t: 'warning'; message: string } | ({ t: 'done' } & Facts) | { t: 'error'; error: WireError };

/** A Writable that forwards chunks to the worker, at most WINDOW unacknowledged. */
function workerSink(worker: Worker, onWarning: ((m: string) => void) | undefined): { stream: Writable; facts: () => Facts } {
  let inFlight = 0;
  let resume: (() => void) | undefined;
  let done: ((err?: Error) => void) | undefined;
  let failure: Error | undefined;
  let facts: Facts = { entries: 0, implicitDirs: [], dependsOnParents: 0 };
  const fail = (err: Error): void => {
    failure ??= err;
    const r = resume;
    resume = undefined;
    r?.();
    const d = done;
    done = undefined;
    d?.(failure);
    stream.destroy(failure);
  };
  worker.on('message', (m: Out) => {
    switch (m.t) {
      case 'ack': {
        inFlight--;
        const r = resume;
        resume = undefined;
        r?.();
        break;
      }
      case 'warning':
        onWarning?.(m.message);
        break;
      case 'done': {
        facts = { entries: m.entries, implicitDirs: m.implicitDirs, dependsOnParents: m.dependsOnParents };
        const d = done;
        done = undefined;
        d?.();
        break;
      }
      case 'error':
        fail(fromWire(m.error, 'unpacking layer'));
        break;
    }
  });
  worker.on('error', fail);
  worker.on('exit', (code) => {
    if (done || inFlight > 0) fail(new TsbuildError('TSB_INTERNAL', `unpack worker exited with code ${code}`));
  });
  const stream = new Writable({
    highWaterMark: 1 << 20,
    write(chunk: Buffer, _e, cb) {
      if (failure) return cb(failure);
      // Transfer an exact copy: the chunk may share its ArrayBuffer (zlib output, the Buffer pool).
      const copy = Buffer.allocUnsafeSlow(chunk.length);
      chunk.copy(copy);
      inFlight++;
      worker.postMessage({ t: 'chunk', buf: copy.buffer, off: copy.byteOffset, len: copy.length }, [copy.buffer as ArrayBuffer]);
      if (inFlight < WINDOW) return cb();
      resume = () => cb(failure);
    },
    final(cb) {
      if (failure) return cb(failure);
      done = (err) => cb(err);
      worker.postMessage({ t: 'end' });
    },
  });
  return { stream, facts: () => facts };
}
