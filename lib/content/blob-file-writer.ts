// A blob written to a temp file while it is hashed, then verified (digest, size), made durable
// (fsync) and renamed into place: a half-written or corrupt blob is never visible under its name.
// Fed either as a stream or, for downloads, through append() (batched synchronous writes).
import { closeSync, createWriteStream, fdatasync, fsync, openSync, writevSync, type WriteStream } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import type { Digest } from '../digest.js';
import { DigestMismatchError, TsbuildError, noSpaceError } from '../errors.js';
import { recycle } from '../internal/recyclable-buffer.js';
import type { BlobInfo, BlobWriter } from './content-store.js';

/** The layout's writer streams to a temp file. */
export interface LayoutBlobWriter extends BlobWriter {
  readonly stream: WriteStream;
  /**
   * Take `chunk` (hashed now, written with the next MiB or at commit) instead of writing through
   * `stream`; a writer is fed one way only. The caller must not reuse the chunk's memory.
   */
  append(chunk: Buffer): void;
}

/** Appended bytes go to the file in one writev per this many bytes. */
const APPEND_BATCH = 1 << 20;
/** An appending writer asks the kernel to write its file back every this many bytes (see flush). */
const EARLY_SYNC_BYTES = 16 << 20;

/** A writer to `tmp` that commits to `finalPath(digest)`; `where` names the store in errors. */
export function blobFileWriter(tmp: string, finalPath: (digest: Digest) => string, where: string): LayoutBlobWriter {
  const hash = createHash('sha256');
  let size = 0;
  const failed = (err: Error): Error => noSpaceError(err, `writing a blob into ${where} (${tmp})`) as Error;

  // Fed through `stream` (made on first use) or through append(), never both.
  let writeStream: WriteStream | undefined;
  const makeStream = (): WriteStream => {
    const stream = createWriteStream(tmp, { flags: 'wx', mode: 0o644, highWaterMark: 1 << 20 });
    const origWrite = stream._write.bind(stream);
    // Hash in the write path so the bytes are touched once. Once a chunk is on disk its memory can be
    // reused by whoever made it (internal/recyclable-buffer.ts), never earlier.
    stream._write = (chunk: Buffer, enc: BufferEncoding, cb: (err?: Error | null) => void) => {
      hash.update(chunk);
      size += chunk.length;
      origWrite(chunk, enc, (err) => {
        if (!err) recycle(chunk);
        cb(err ? failed(err) : err);
      });
    };
    const origWritev = stream._writev?.bind(stream);
    if (origWritev) {
      stream._writev = (chunks: Array<{ chunk: Buffer; encoding: BufferEncoding }>, cb: (err?: Error | null) => void) => {
        for (const c of chunks) {
          hash.update(c.chunk);
          size += c.chunk.length;
        }
        origWritev(chunks, (err) => {
          if (!err) for (const c of chunks) recycle(c.chunk);
          cb(err ? failed(err) : err);
        });
      };
    }
    return stream;
  };

  // append(): chunks gathered and written synchronously, one writev per MiB. A download arrives
  // in ~64 KiB pieces: a write request per piece through the thread pool (submission, completion
  // callback, a thread wake-up each) cost the main thread more than the copy into the page cache
  // that a write to a regular file is, before the fsync at commit.
  const pending: Buffer[] = [];
  let pendingBytes = 0;
  let appendFd: number | undefined;
  // Write-back while the download goes on: an fdatasync in the thread pool every 16 MiB, one at a
  // time, so the fsync at commit waits for the tail only (it waited 40-75 ms for a 62 MB layer, the
  // last thing a pull did). The fsync at commit still decides durability; errors surface there.
  let unsynced = 0;
  let syncing: Promise<void> | undefined;
  const flush = (): void => {
    if (appendFd === undefined) appendFd = openSync(tmp, 'wx', 0o644);
    if (pendingBytes === 0) return;
    const written = pending.splice(0);
    const bufs = [...written];
    unsynced += pendingBytes;
    pendingBytes = 0;
    try {
      for (;;) {
        let n = writevSync(appendFd, bufs);
        // A regular file takes everything unless the disk fills up; go on after a short write.
        while (bufs.length > 0 && n >= bufs[0]!.length) n -= bufs.shift()!.length;
        if (bufs.length === 0) break;
        if (n > 0) bufs[0] = bufs[0]!.subarray(n);
      }
    } catch (err) {
      throw failed(err as Error);
    }
    for (const b of written) recycle(b);
    if (unsynced >= EARLY_SYNC_BYTES && !syncing) {
      unsynced = 0;
      const fd = appendFd;
      syncing = new Promise<void>((resolve) => {
        fdatasync(fd, () => {
          syncing = undefined;
          resolve();
        });
      });
    }
  };

  let done = false;
  const abort = async (): Promise<void> => {
    if (done) return;
    done = true;
    if (writeStream) {
      // A write still in flight reports ERR_STREAM_DESTROYED after destroy(): expected, not a crash.
      writeStream.on('error', () => undefined);
      writeStream.destroy();
    }
    pending.length = 0;
    const fd = appendFd;
    appendFd = undefined;
    if (syncing) await syncing;
    if (fd !== undefined) closeSync(fd);
    await unlink(tmp).catch(() => undefined);
  };
  const commit = async (expected: Partial<BlobInfo> = {}): Promise<BlobInfo> => {
    if (done) throw new TsbuildError('TSB_INTERNAL', 'blob writer used after commit/abort');
    try {
      if (!writeStream && appendFd === undefined && pendingBytes === 0) writeStream = makeStream();
      const stream = writeStream;
      if (stream && !stream.writableFinished) {
        await new Promise<void>((resolve, reject) => {
          stream.once('error', reject);
          stream.end(() => resolve());
        });
      }
      if (!stream) flush();
      const digest = `sha256:${hash.digest('hex')}` as Digest;
      if (expected.digest && expected.digest !== digest) throw new DigestMismatchError('blob', expected.digest, digest);
      if (expected.size !== undefined && expected.size !== size) {
        throw new TsbuildError('TSB_SIZE_MISMATCH', `blob ${digest}: expected ${expected.size} bytes, got ${size}; nothing was stored`);
      }
      if (appendFd !== undefined) {
        const fd = appendFd;
        appendFd = undefined;
        try {
          if (syncing) await syncing;
          await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
        } finally {
          closeSync(fd);
        }
      } else {
        const fh = await open(tmp, 'r');
        try {
          await fh.sync();
        } finally {
          await fh.close();
        }
      }
      await rename(tmp, finalPath(digest));
      done = true;
      return { digest, size };
    } catch (err) {
      await abort();
      throw err;
    }
  };
  const append = (chunk: Buffer): void => {
    if (done || writeStream) throw new TsbuildError('TSB_INTERNAL', 'blob writer: append after commit/abort or after writing to its stream');
    hash.update(chunk);
    size += chunk.length;
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= APPEND_BATCH) flush();
  };
  return {
    get stream(): WriteStream {
      if (appendFd !== undefined || pendingBytes > 0) throw new TsbuildError('TSB_INTERNAL', 'blob writer: its stream is used after append()');
      writeStream ??= makeStream();
      return writeStream;
    },
    append,
    commit,
    abort,
  };
}
