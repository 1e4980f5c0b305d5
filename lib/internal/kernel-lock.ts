// Exclusive locks the kernel releases when their holder dies (flock(2)). Taken in this process with the
// native addon's flock (lib/internal/fsx.ts) when it loads: a file descriptor that only this process
// holds (node opens files close-on-exec), closed by the kernel however the process ends. Where the
// addon is missing or older, and to wait for a lock another process holds, a small `flock` child
// (util-linux) takes the lock and holds it while our pipe to it is open. Our process dying in any way
// (kill -9 included) closes the pipe, the child exits and the kernel drops the lock. Either way: no
// stale lock, no pid-reuse guesswork, and it works across pid namespaces.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, constants, fchmodSync, openSync } from 'node:fs';
import { chmod, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { TsbuildError } from '../errors.js';
import { fsx } from './fsx.js';

export interface KernelLock {
  readonly path: string;
  release(): Promise<void>;
}

const BUSY = 75;
// The lock fd stays open in `cat` (flock -F execs sh, which execs cat); cat ends when our pipe closes.
const HOLD = ['sh', '-c', 'echo locked; exec cat >/dev/null'];

function missingFlock(err: unknown): TsbuildError {
  return new TsbuildError('TSB_TOOL_MISSING', `cannot run flock (util-linux): ${(err as Error).message}`, { hint: 'apt-get install util-linux', cause: err });
}

function hold(path: string, wait: boolean, signal: AbortSignal | undefined): Promise<KernelLock | undefined> {
  return new Promise((resolve, reject) => {
    const args = wait ? ['-F', path, ...HOLD] : ['-n', '-E', String(BUSY), '-F', path, ...HOLD];
    const child: ChildProcess = spawn('flock', args, { stdio: ['pipe', 'pipe', 'ignore'] });
    let settled = false;
    const onAbort = (): void => {
      child.kill('SIGKILL');
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      fn();
    };
    child.once('error', (err) => finish(() => reject(missingFlock(err))));
    child.stdout!.once('data', () => {
      finish(() => {
        // Held: neither the child nor its pipes may keep our process alive.
        child.unref();
        (child.stdin as unknown as { unref?: () => void }).unref?.();
        (child.stdout as unknown as { unref?: () => void }).unref?.();
        let released: Promise<void> | undefined;
        resolve({
          path,
          release: () =>
            (released ??= new Promise<void>((done) => {
              if (child.exitCode !== null || child.signalCode !== null) return done();
              child.ref();
              child.once('exit', () => done());
              child.stdin!.end();
            })),
        });
      });
    });
    child.once('exit', (code) => {
      finish(() => {
        if (signal?.aborted) reject(new TsbuildError('TSB_ABORTED', `waiting for the lock ${path} was cancelled`, { cause: signal.reason }));
        else if (code === BUSY) resolve(undefined);
        else reject(new TsbuildError('TSB_INTERNAL', `flock ${path} exited with code ${code}`));
      });
    });
  });
}

export interface KernelLockOptions {
  signal?: AbortSignal | undefined;
  /** Called once if another process holds the lock (kernelLock waits then). */
  onWait?: () => void;
  /** The lock's directory is shared by every user of the host: created sticky and world-writable, like /tmp. */
  sharedDir?: boolean;
}

async function ensureDir(dir: string, shared: boolean | undefined): Promise<void> {
  await mkdir(dir, { recursive: true });
  // Best effort: whoever created it first set the mode; others may not change it.
  if (shared) await chmod(dir, 0o1777).catch(() => undefined);
}

let nativeFlock: ((fd: number) => boolean) | null | undefined;

/**
 * The addon's flock, or null when it cannot be had (then the `flock` child does the work).
 * TSBUILD_NATIVE_LOCKS=0 asks for the child: for a file system where the two would disagree, and for
 * tests that watch the locks through a `flock` on PATH.
 */
function nativeTryLock(): ((fd: number) => boolean) | null {
  if (nativeFlock === undefined && process.env.TSBUILD_NATIVE_LOCKS === '0') nativeFlock = null;
  if (nativeFlock === undefined) {
    try {
      const addon = fsx();
      nativeFlock = addon.tryLockExclusive ? addon.tryLockExclusive.bind(addon) : null;
    } catch {
      nativeFlock = null;
    }
  }
  return nativeFlock;
}

/**
 * In this process: the lock, undefined when another holds it, null when the addon cannot lock
 * (missing, or built before it could). Opened read-only and created 0666 (less the umask), as
 * util-linux flock opens it; in a shared lock dir a file this user creates is made 0666 outright, so
 * every user of the host can lock it whatever this user's umask.
 */
function holdNative(path: string, shared: boolean | undefined): KernelLock | undefined | null {
  const tryLock = nativeTryLock();
  if (!tryLock) return null;
  // NFS maps flock onto POSIX locks, and an exclusive one needs a file open for writing (EBADF
  // otherwise): opened again read-write then, as util-linux flock does.
  for (const mode of [constants.O_RDONLY, constants.O_RDWR]) {
    let fd: number;
    let locked: boolean;
    try {
      fd = openSync(path, mode | constants.O_CREAT | constants.O_NOCTTY, 0o666);
    } catch (err) {
      throw lockFileError(path, err);
    }
    try {
      if (shared) shareLockFile(fd);
      locked = tryLock(fd);
    } catch (err) {
      closeSync(fd);
      if ((err as NodeJS.ErrnoException).code === 'EBADF' && mode === constants.O_RDONLY) continue;
      throw lockFileError(path, err);
    }
    if (!locked) {
      closeSync(fd);
      return undefined;
    }
    let open = true;
    return {
      path,
      release: async () => {
        if (open) closeSync(fd);
        open = false;
      },
    };
  }
  return undefined;
}

/** Mode 0666 for a lock file this user owns; another user's is left as it is (EPERM). */
function shareLockFile(fd: number): void {
  try {
    fchmodSync(fd, 0o666);
  } catch {
    // Not ours: its owner made it.
  }
}

function lockFileError(path: string, err: unknown): TsbuildError {
  return new TsbuildError('TSB_STORE_LOCKED', `cannot lock ${path}: ${(err as Error).message}`, {
    hint: `this user must be able to create and read files in ${dirname(path)} (TSBUILD_HOME for its own locks, TSBUILD_LOCK_DIR for the host's publish locks)`,
    cause: err,
  });
}

/** The lock if nobody holds it, else undefined (never waits). */
export async function tryKernelLock(path: string, options: Pick<KernelLockOptions, 'sharedDir'> = {}): Promise<KernelLock | undefined> {
  await ensureDir(dirname(path), options.sharedDir);
  const native = holdNative(path, options.sharedDir);
  return native === null ? hold(path, false, undefined) : native;
}

/** Wait for the lock; `onWait` is called once if another process holds it. Abortable. */
export async function kernelLock(path: string, options: KernelLockOptions = {}): Promise<KernelLock> {
  options.signal?.throwIfAborted();
  const got = await tryKernelLock(path, options);
  if (got) return got;
  options.onWait?.();
  const waited = await hold(path, true, options.signal);
  if (!waited) throw new TsbuildError('TSB_INTERNAL', `flock ${path} returned without the lock`);
  return waited;
}

/** Whether a live process holds the lock (a lock file nobody holds is a dead holder's). */
export async function isKernelLocked(path: string): Promise<boolean> {
  const got = await tryKernelLock(path);
  if (!got) return true;
  await got.release();
  return false;
}
