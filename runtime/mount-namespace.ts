// As root, a build runs in a private mount namespace: the overlay mounts it makes are invisible to
// the host and the kernel drops them when the build's processes die, kill -9 included. (Rootless
// builds get this from their user namespace, runtime/userns.ts.) TSBUILD_PRIVATE_MOUNTS=0 turns it
// off; leftover mounts are then unmounted by the next build or `tsbuild stages gc` (owned-dir.ts).
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { TsbuildError } from '../lib/errors.js';

const exec = promisify(execFile);

/** Set in the re-executed process. */
export const MOUNT_NS_ENV = 'TSBUILD_MOUNT_NS';

let probed: Promise<boolean> | undefined;

/** Whether this (root) process should re-run itself in a private mount namespace. */
export async function wantsPrivateMounts(env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  if (process.getuid?.() !== 0 || env[MOUNT_NS_ENV] || env.TSBUILD_PRIVATE_MOUNTS === '0') return false;
  probed ??= exec('unshare', ['--mount', '--propagation', 'private', 'true']).then(
    () => true,
    () => false,
  );
  return probed;
}

/**
 * Re-run `argv` (node + script + args) in a new mount namespace and resolve with its exit code.
 * unshare execs node in place (no fork), so the child is the build itself; SIGINT/SIGTERM are
 * forwarded, and if this process is killed outright the child gets SIGKILL (setpriv --pdeathsig).
 */
export async function runInPrivateMountNamespace(argv: string[]): Promise<number> {
  const child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', ...argv], {
    stdio: 'inherit',
    env: { ...process.env, [MOUNT_NS_ENV]: '1' },
  });
  const forward = (sig: NodeJS.Signals) => (): void => {
    try {
      if (child.pid) process.kill(child.pid, sig);
    } catch {
      /* already gone */
    }
  };
  const onInt = forward('SIGINT');
  const onTerm = forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    return await new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new TsbuildError('TSB_SANDBOX_START', `cannot start unshare: ${err.message}`, { cause: err, hint: 'apt-get install util-linux (setpriv, unshare)' })));
      child.once('close', (code, sig) => resolve(code ?? (sig === 'SIGINT' ? 130 : 128 + 9)));
    });
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
