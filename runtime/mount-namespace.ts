// As root, a build runs in a private mount namespace: the overlay mounts it makes are invisible to
// the host and the kernel drops them when the build's processes die, kill -9 included. (Rootless
// builds get this from their user namespace, runtime/userns.ts.) bin/tsbuild.js does it before the
// CLI is loaded, so it costs one bare node start-up; prepareRuntime() does it for callers that
// bypass bin/. TSBUILD_PRIVATE_MOUNTS=0 turns it off; leftover mounts are then unmounted by the next
// build or `tsbuild stages gc` (lib/internal/owned-dir.ts).
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';

/** Set in the re-executed process ("1"), or to "unavailable" when unshare was refused. */
export const MOUNT_NS_ENV = 'TSBUILD_MOUNT_NS';

/** Whether this process should re-run itself in a private mount namespace. */
export function wantsPrivateMounts(env: NodeJS.ProcessEnv = process.env): boolean {
  return process.getuid?.() === 0 && !env[MOUNT_NS_ENV] && !env.TSBUILD_ID_MODE && env.TSBUILD_PRIVATE_MOUNTS !== '0';
}

// Inside the new namespace the shell reports on fd 3 before it execs the command (fd 3 closed), so
// a refused unshare (no CAP_SYS_ADMIN, e.g. in a container) is told apart from the command's exit.
const HANDSHAKE = 'echo ok >&3 && exec "$@" 3>&-';

/**
 * Re-run `argv` (node + script + args) in a new mount namespace and resolve with its exit code, or
 * with undefined when the namespace cannot be made (the caller then goes on in this process, and
 * MOUNT_NS_ENV says not to try again). unshare and sh exec in place: the child is the build itself.
 * SIGINT/SIGTERM are forwarded; if this process is killed outright the child gets SIGKILL.
 */
export async function runInPrivateMountNamespace(argv: string[]): Promise<number | undefined> {
  const child = spawn(
    'setpriv',
    ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', HANDSHAKE, 'tsbuild-mountns', ...argv],
    {
      stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
      env: { ...process.env, [MOUNT_NS_ENV]: '1' },
    },
  );
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
    let started = false;
    (child.stdio[3] as Readable).once('data', () => (started = true));
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', () => resolve(null));
      child.once('close', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 128 + 9)));
    });
    if (!started) {
      process.env[MOUNT_NS_ENV] = 'unavailable';
      return undefined;
    }
    return code ?? 1;
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}
