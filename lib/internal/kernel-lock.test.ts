import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isKernelLocked, kernelLock, tryKernelLock } from './kernel-lock.js';

const KERNEL_LOCK = new URL('./kernel-lock.js', import.meta.url).href;

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-kernel-lock-'));
  try {
    await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pids holding a flock on the file, from /proc/locks. */
async function flockHolders(path: string): Promise<number[]> {
  const ino = (await stat(path)).ino;
  return (await readFile('/proc/locks', 'utf8'))
    .split('\n')
    .map((l) => l.split(/\s+/))
    .filter((f) => f[1] === 'FLOCK' && Number(f[5]?.split(':')[2]) === ino)
    .map((f) => Number(f[4]));
}

/** util-linux's own verdict: whether `flock -n` can take the lock right now. */
function flockWouldGet(path: string): boolean {
  return spawnSync('flock', ['-n', path, 'true']).status === 0;
}

test('a lock is held by this process itself (no helper process) and is a real flock other tools see', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'a.lock');
    const lock = await tryKernelLock(path);
    assert.ok(lock);
    assert.deepEqual(await flockHolders(path), [process.pid], 'held by this pid, not by a flock child');
    assert.equal(flockWouldGet(path), false);
    assert.equal(await tryKernelLock(path), undefined, 'a second open of the same file does not get it');
    assert.equal(await isKernelLocked(path), true);
    await lock.release();
    await lock.release();
    assert.equal(flockWouldGet(path), true);
    assert.equal(await isKernelLocked(path), false);
    const again = await tryKernelLock(path);
    assert.ok(again);
    await again.release();
  });
});

test('the kernel drops the lock of a process killed with SIGKILL; a waiter gets it then', async () => {
  await withDir(async (dir) => {
    const path = join(dir, 'b.lock');
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { tryKernelLock } = await import(${JSON.stringify(KERNEL_LOCK)}); const l = await tryKernelLock(${JSON.stringify(path)}); console.log(l ? 'locked' : 'busy'); setInterval(() => {}, 1000);`,
      ],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const first = await new Promise<string>((resolve) => child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim())));
    assert.equal(first, 'locked');
    assert.deepEqual(await flockHolders(path), [child.pid]);
    assert.equal(await tryKernelLock(path), undefined);
    let onWait!: () => void;
    const waited = new Promise<void>((resolve) => (onWait = resolve));
    const waiting = kernelLock(path, { onWait });
    await waited;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const lock = await waiting;
    assert.equal(flockWouldGet(path), false);
    await lock.release();
    assert.equal(flockWouldGet(path), true);
  });
});

test('a lock file that cannot be opened is named in a TsbuildError; one made in a shared dir is 0666 whatever the umask', async () => {
  await withDir(async (dir) => {
    const taken = join(dir, 'a-directory.lock');
    await mkdir(taken);
    await assert.rejects(tryKernelLock(taken), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'TSB_STORE_LOCKED');
      assert.match(err.message, /a-directory\.lock/);
      assert.match(err.hint ?? '', /TSBUILD_LOCK_DIR/);
      return true;
    });
    const old = process.umask(0o077);
    try {
      const lock = await tryKernelLock(join(dir, 'shared', 'p.lock'), { sharedDir: true });
      assert.ok(lock);
      assert.equal((await stat(join(dir, 'shared', 'p.lock'))).mode & 0o777, 0o666);
      await lock.release();
      const own = await tryKernelLock(join(dir, 'own.lock'));
      assert.equal((await stat(join(dir, 'own.lock'))).mode & 0o777, 0o600, 'a home lock keeps the umask');
      await own?.release();
    } finally {
      process.umask(old);
    }
  });
});
