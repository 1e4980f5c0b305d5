// Cross-process exclusive lock on a path: an O_EXCL lock file holding "pid host time".
// A lock whose owner process is gone (same host) is broken; waiting is bounded.
import { open, readFile, unlink, mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsbuildError } from '../errors.js';

export interface LockOptions {
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

function ownerAlive(text: string): boolean {
  const [pidText, host] = text.split(' ');
  const pid = Number(pidText);
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return true; // cannot tell: assume alive
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export async function withFileLock<T>(lockPath: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  const release = await acquireFileLock(lockPath, options);
  try {
    return await fn();
  } finally {
    await release();
  }
}

export async function acquireFileLock(lockPath: string, options: LockOptions = {}): Promise<() => Promise<void>> {
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  await mkdir(dirname(lockPath), { recursive: true });
  let delay = 2;
  for (;;) {
    options.signal?.throwIfAborted();
    try {
      const fh = await open(lockPath, 'wx');
      await fh.writeFile(`${process.pid} ${hostname()} ${Date.now()}`);
      await fh.close();
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        await unlink(lockPath).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const text = await readFile(lockPath, 'utf8').catch(() => '');
    // An empty file is a lock being written right now; a dead owner's lock is stale.
    if (text && !ownerAlive(text)) {
      await breakStaleLock(lockPath, text);
      continue;
    }
    if (Date.now() > deadline) {
      throw new TsbuildError('TSB_STORE_LOCKED', `timed out waiting for lock ${lockPath} (held by: ${text || 'unknown'})`, {
        hint: 'another tsbuild process is using the store; wait for it, or remove the lock file if no tsbuild is running',
      });
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 50);
  }
}

/**
 * Remove a dead owner's lock file, but only that one. Between reading the owner and unlinking, the
 * dead owner's file may already have been removed by another waiter and a live process may hold a
 * new lock at the same path: unlinking blindly would let two processes in (seen as a lost index.json
 * update under load). Breakers take a second O_EXCL lock and re-read the file under it: while the
 * dead owner's text is still there, nobody else can replace it (creators get EEXIST, the owner is
 * dead, other breakers wait), so the unlink removes exactly the stale lock.
 */
async function breakStaleLock(lockPath: string, staleText: string): Promise<void> {
  const breakPath = `${lockPath}.break`;
  let fh;
  try {
    fh = await open(breakPath, 'wx');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    // A breaker that died inside this short section leaves its file behind: old ones are removed.
    const st = await stat(breakPath).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > 10_000) await unlink(breakPath).catch(() => undefined);
    return;
  }
  try {
    const current = await readFile(lockPath, 'utf8').catch(() => '');
    if (current === staleText) await unlink(lockPath).catch(() => undefined);
  } finally {
    await fh.close();
    await unlink(breakPath).catch(() => undefined);
  }
}
