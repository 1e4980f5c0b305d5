// zstd for layers through Debian's `zstd` program: Node 20's zlib has no zstd (it came in 22.15).
// Chosen over the zstd-napi addon by measurement and by what it costs to ship (see
// docs/architecture.md, "zstd"): the CLI compresses on its own threads (-T2) beside node's main
// thread, which hashes the tar and the blob; the addon compresses synchronously on the main thread,
// is no faster per core, and has no prebuilt binary reachable here, so it needs a C++ toolchain at
// install. Multi-threaded zstd output does not depend on the number of threads, so layer digests
// are the same on any machine with the same zstd version.
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { Readable, Writable } from 'node:stream';
import { TsbuildError } from '../errors.js';

export const ZSTD_DEFAULT_LEVEL = 3;
export const ZSTD_MAX_LEVEL = 19;
/** The program (TSBUILD_ZSTD overrides, e.g. for a zstd outside PATH). */
const zstdBin = (): string => process.env.TSBUILD_ZSTD || 'zstd';

/** A streaming zstd compressor (one frame, `level` 1-19, two worker threads). */
export function createZstdCompress(level = ZSTD_DEFAULT_LEVEL): Duplex {
  if (!Number.isInteger(level) || level < 1 || level > ZSTD_MAX_LEVEL) {
    throw new TsbuildError('TSB_USAGE', `zstd level ${level} is out of range`, { hint: `use a level from 1 to ${ZSTD_MAX_LEVEL}, e.g. zstd:3` });
  }
  // -T2 even on one core: output then never depends on the machine (single-thread mode differs).
  return new ChildFilter(['-q', '-c', `-${level}`, '-T2'], 'compressing a layer with zstd');
}

/** A streaming zstd decompressor (every frame of the input). */
export function createZstdDecompress(): Duplex {
  return new ChildFilter(['-q', '-d', '-c'], 'decompressing a zstd layer');
}

/** A child process as a Duplex: what is written goes to its stdin, its stdout is read; exit != 0 is an error. */
class ChildFilter extends Duplex {
  private readonly child: ChildProcessByStdio<Writable, Readable, Readable>;
  private stderr = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  private outEnded = false;

  constructor(
    args: string[],
    private readonly what: string,
  ) {
    super({ readableHighWaterMark: 1 << 20, writableHighWaterMark: 1 << 20 });
    this.child = spawn(zstdBin(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { child } = this;
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') {
        this.destroy(
          new TsbuildError('TSB_TOOL_MISSING', `${this.what} needs the zstd program, which is not installed`, {
            hint: 'install it (Debian/Ubuntu: apt-get install zstd), or use --layer-compression gzip',
            cause: err,
          }),
        );
      } else this.destroy(err);
    });
    child.stderr.on('data', (c: Buffer) => {
      if (this.stderr.length < 4096) this.stderr += c.toString();
    });
    // A broken pipe shows up as the child's exit status, which says more.
    child.stdin.on('error', () => undefined);
    child.stdout.on('data', (c: Buffer) => {
      if (!this.push(c)) child.stdout.pause();
    });
    child.stdout.on('end', () => {
      this.outEnded = true;
      this.settle();
    });
    child.on('close', (code, signal) => {
      this.exited = { code, signal };
      this.settle();
    });
  }

  private settle(): void {
    if (!this.exited || !this.outEnded || this.destroyed) return;
    const { code, signal } = this.exited;
    if (code === 0) {
      this.push(null);
      return;
    }
    const detail = this.stderr.trim().split('\n').slice(-3).join('; ') || (signal ? `killed by ${signal}` : `exit code ${code}`);
    this.destroy(new TsbuildError('TSB_LAYER_INVALID', `${this.what} failed: ${detail}`));
  }

  override _read(): void {
    this.child.stdout.resume();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.child.stdin.write(chunk)) cb();
    else this.child.stdin.once('drain', () => cb());
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.child.stdin.end(() => cb());
  }

  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    if (this.exited === undefined) this.child.kill('SIGKILL');
    cb(err);
  }
}
