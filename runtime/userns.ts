// Rootless: run the rest of a tsbuild command as uid 0 inside a user namespace (plus a private mount
// and pid namespace). With a subordinate id range the namespace maps 0 → the user and 1..N → the
// range (newuidmap/newgidmap), so chown, setuid files and multi-user images work; without one only
// the user's own id is mapped. Everything a build mounts dies with the namespace.
import { spawn, execFile } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { TsbuildError } from '../lib/errors.js';
import type { IdRange } from './probe.js';

const exec = promisify(execFile);

/** Set in the re-executed process: how ids are mapped around it. */
export const ID_MODE_ENV = 'TSBUILD_ID_MODE';

export type IdMode = 'root' | 'subuid' | 'single';

/** Names the id mapping (unpacked layers are cached per mapping): "u<first subordinate uid>" or "s". */
const ID_FLAVOR_ENV = 'TSBUILD_ID_FLAVOR';

export function currentIdFlavor(): string | undefined {
  return process.env[ID_FLAVOR_ENV] || undefined;
}

export interface UserNamespacePlan {
  mode: 'subuid' | 'single';
  uid: number;
  gid: number;
  subuid?: IdRange;
  subgid?: IdRange;
}

/** The id mode of this process: 'root' when really root, else what the parent re-exec recorded. */
export function currentIdMode(): IdMode | undefined {
  const v = process.env[ID_MODE_ENV];
  if (v === 'subuid' || v === 'single') return v;
  return process.getuid?.() === 0 && !v ? 'root' : undefined;
}

// The child in the new namespaces reports its host pid (from the host procfs, still mounted at
// /proc), waits until the parent has written the id maps, then execs: capabilities are computed at
// exec, so the exec must come after the mapping that makes it uid 0.
// Then, as root of the namespaces, it mounts a /proc of the new pid namespace (runc and crun look
// up their children there) and execs the command.
const HANDSHAKE =
  'read -r pid _ </proc/self/stat; echo "$pid" >&3; read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; ' +
  'exec /bin/sh -c \'mount -t proc -o nosuid,nodev,noexec proc /proc && exec "$@"\' tsbuild-userns "$@"';

/**
 * Re-run `argv` (node + script + args) inside a new user, mount and pid namespace and resolve with its
 * exit code. SIGINT/SIGTERM are forwarded; if the child does not stop within `graceMs`, it is killed
 * (the pid namespace takes every process of the build with it, the mount namespace every mount).
 */
export async function runInUserNamespace(argv: string[], plan: UserNamespacePlan, options: { graceMs?: number } = {}): Promise<number> {
  const unshare = ['--user', '--mount', '--pid', '--fork', '--kill-child=SIGKILL', '--propagation', 'private'];
  if (plan.mode === 'single') unshare.push('--map-root-user');
  // setpriv --pdeathsig: if this process is killed outright, unshare (and through --kill-child the
  // whole namespace) goes with it.
  const args = ['--pdeathsig', 'SIGKILL', '--', 'unshare', ...unshare, '--', '/bin/sh', '-c', HANDSHAKE, 'tsbuild-userns', ...argv];
  const child = spawn('setpriv', args, {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [ID_MODE_ENV]: plan.mode, [ID_FLAVOR_ENV]: plan.mode === 'single' ? 's' : `u${plan.subuid?.start ?? 0}` },
  });
  const ctl = child.stdio[3] as Duplex;
  let innerPid: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    const target = innerPid ?? child.pid;
    if (target) {
      try {
        process.kill(target, sig);
      } catch {
        /* already gone */
      }
    }
    killTimer ??= setTimeout(() => {
      if (innerPid) process.kill(innerPid, 'SIGKILL');
    }, options.graceMs ?? 10_000);
  };
  const onInt = (): void => forward('SIGINT');
  const onTerm = (): void => forward('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  try {
    const exitCode = new Promise<number>((resolve, reject) => {
      child.once('error', (err) => reject(new TsbuildError('TSB_SANDBOX_START', `cannot start unshare: ${err.message}`, { cause: err, hint: 'apt-get install util-linux (setpriv, unshare)' })));
      child.once('close', (code, sig) => resolve(code ?? (sig === 'SIGINT' ? 130 : 128 + 9)));
    });
    const hostPid = await new Promise<number | undefined>((resolve) => {
      let buf = '';
      const onData = (c: Buffer): void => {
        buf += c.toString();
        if (buf.includes('\n')) {
          ctl.off('data', onData);
          resolve(Number(buf.trim()));
        }
      };
      ctl.on('data', onData);
      child.once('close', () => resolve(undefined));
    });
    if (hostPid === undefined) return await exitCode;
    innerPid = hostPid;
    try {
      if (plan.mode === 'subuid') await writeIdMaps(hostPid, plan);
      ctl.write('go\n');
    } catch (err) {
      ctl.write('no\n');
      await exitCode;
      throw err;
    }
    ctl.end();
    return await exitCode;
  } finally {
    if (killTimer) clearTimeout(killTimer);
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

async function writeIdMaps(pid: number, plan: UserNamespacePlan): Promise<void> {
  const { subuid, subgid } = plan;
  if (!subuid || !subgid) throw new TsbuildError('TSB_INTERNAL', 'subuid mode without a range');
  const maps: Array<[string, number, IdRange]> = [
    ['newuidmap', plan.uid, subuid],
    ['newgidmap', plan.gid, subgid],
  ];
  for (const [tool, own, range] of maps) {
    try {
      await exec(tool, [String(pid), '0', String(own), '1', '1', String(range.start), String(range.count)], { timeout: 10_000 });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `${tool} failed: ${stderr || (err as Error).message}`, {
        hint: `check /etc/subuid and /etc/subgid (ranges ${range.start}+${range.count}) and that ${tool} is setuid root or has file capabilities (apt-get install uidmap); \`tsbuild doctor\` shows the details`,
        cause: err,
      });
    }
  }
}
