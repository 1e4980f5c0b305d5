// Rootless: run the rest of a tsbuild command as uid 0 inside a user namespace (plus a private mount
// and pid namespace). With a subordinate id range the namespace maps 0 → the user and 1..N → the
// range (newuidmap/newgidmap), so chown, setuid files and multi-user images work; without one only
// the user's own id is mapped. Everything a build mounts dies with the namespace.
// As root the same happens with root's range (or tsbuild's reserved one): 0..N-1 map to the range and
// host root is mapped too, at HOST_ROOT_IN_NAMESPACE, so that the builder still reaches root-only
// directories; steps run one namespace further down, where it is not mapped (step-namespace.ts).
import { spawn, execFile } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { promisify } from 'node:util';
import { TsbuildError } from '../lib/errors.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { homePaths } from '../lib/home.js';
import { writeFile } from 'node:fs/promises';
import { missingFromBoundingSet } from './capabilities.js';
import type { IdRange } from './probe.js';
import { HOST_ROOT_IN_NAMESPACE } from './root-id-range.js';

const exec = promisify(execFile);

/** Set in the re-executed process: how ids are mapped around it. */
const ID_MODE_ENV = 'TSBUILD_ID_MODE';

export type IdMode = 'root' | 'subuid' | 'single';

/** Names the id mapping (unpacked layers are cached per mapping): "u<first subordinate uid>", "r<…>" (root) or "s". */
const ID_FLAVOR_ENV = 'TSBUILD_ID_FLAVOR';

/** Set when host root is mapped in this namespace: the number of ids steps get (a child namespace maps 0..N-1). */
const STEP_USERNS_ENV = 'TSBUILD_STEP_USERNS';

export function stepNamespaceIds(): number | undefined {
  const n = Number(process.env[STEP_USERNS_ENV]);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export function currentIdFlavor(): string | undefined {
  return process.env[ID_FLAVOR_ENV] || undefined;
}

export interface UserNamespacePlan {
  mode: 'subuid' | 'single';
  uid: number;
  gid: number;
  subuid?: IdRange;
  subgid?: IdRange;
  /** Running as root: map host root too, and write the maps directly (no newuidmap). */
  hostRoot?: unknown;
}

/** The id mode a parent re-exec recorded for this process; undefined before that decision (root included). */
export function currentIdMode(): IdMode | undefined {
  const v = process.env[ID_MODE_ENV];
  if (v === 'subuid' || v === 'single') return v;
  return undefined;
}

// The child in the new namespaces reports its host pid (from the host procfs, still mounted at
// /proc), waits until the parent has written the id maps, then execs: capabilities are computed at
// exec, so the exec must come after the mapping that makes it uid 0.
// Then, as root of the namespaces, it mounts a /proc of the new pid namespace (runc and crun look
// up their children there) and execs the command.
const HANDSHAKE =
  'read -r pid _ </proc/self/stat; echo "$pid" >&3; read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; ' +
  'exec /bin/sh -c \'mount -t proc -o nosuid,nodev,noexec proc /proc && exec "$@"\' tsbuild-userns "$@"';

// As root the process is host root, which the namespace maps to HOST_ROOT_IN_NAMESPACE, not 0: it
// keeps the capabilities unshare got in the namespace (--keep-caps) just long enough to become uid 0
// there, then execs as that. no_new_privs: host root being mapped, a setuid-root program (mount,
// umount) would otherwise run as HOST_ROOT_IN_NAMESPACE, without the namespace's capabilities.
// A new user namespace starts with every capability; the builder gets back only the bounding set it
// was started with (a root caller without CAP_DAC_OVERRIDE must not read more inside than outside).
// No pid namespace as root: the builder stays in the host's, like every other root process, so that
// the owner checks of leftovers (pid + start time + pid namespace in temp names, see
// lib/internal/owned-dir.ts) still work between root builds, and /proc needs no remount.
function rootHandshake(): string {
  const capBnd = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '';
  const drop = missingFromBoundingSet(capBnd);
  const bounding = drop.length ? ` --bounding-set=${drop.map((c) => `-${c}`).join(',')}` : '';
  return (
    'read -r pid _ </proc/self/stat; echo "$pid" >&3; read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; ' +
    `exec setpriv --reuid=0 --regid=0 --clear-groups --no-new-privs --inh-caps=-all${bounding} -- "$@"`
  );
}

/**
 * Re-run `argv` (node + script + args) inside a new user, mount and pid namespace and resolve with its
 * exit code. SIGINT/SIGTERM are forwarded; if the child does not stop within `graceMs`, it is killed
 * (the pid namespace takes every process of the build with it, the mount namespace every mount).
 */
export async function runInUserNamespace(argv: string[], plan: UserNamespacePlan, options: { graceMs?: number } = {}): Promise<number> {
  const unshare = plan.hostRoot
    ? ['--user', '--mount', '--fork', '--kill-child=SIGKILL', '--propagation', 'private', '--keep-caps']
    : ['--user', '--mount', '--pid', '--fork', '--kill-child=SIGKILL', '--propagation', 'private'];
  if (plan.mode === 'single') unshare.push('--map-root-user');
  // setpriv --pdeathsig: if this process is killed outright, unshare (and through --kill-child the
  // whole namespace) goes with it.
  const args = [
    '--pdeathsig',
    'SIGKILL',
    '--',
    'unshare',
    ...unshare,
    '--',
    '/bin/sh',
    '-c',
    plan.hostRoot ? rootHandshake() : HANDSHAKE,
    'tsbuild-userns',
    ...argv,
  ];
  const child = spawn('setpriv', args, {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [ID_MODE_ENV]: plan.mode, [ID_FLAVOR_ENV]: flavor(plan), ...(plan.hostRoot ? hostRootEnv(plan) : {}) },
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
      child.once('error', (err) =>
        reject(
          new TsbuildError('TSB_SANDBOX_START', `cannot start unshare: ${err.message}`, { cause: err, hint: 'apt-get install util-linux (setpriv, unshare)' }),
        ),
      );
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

function flavor(plan: UserNamespacePlan): string {
  if (plan.mode === 'single') return 's';
  return `${plan.hostRoot ? 'r' : 'u'}${plan.subuid?.start ?? 0}`;
}

/**
 * The builder's environment inside root's namespace. Host root owns the checkout but is not uid 0
 * there, so git would call the repository "dubious". safe.directory is honoured only in protected
 * configuration, and git drops GIT_CONFIG_COUNT for the upload-pack of a local clone, so it goes in a
 * system config of our own that includes the real one.
 */
function hostRootEnv(plan: UserNamespacePlan): Record<string, string> {
  return { [STEP_USERNS_ENV]: String(Math.min(plan.subuid?.count ?? 0, plan.subgid?.count ?? 0)), ...builderGitEnv() };
}

/**
 * git's part of it, also used by root's build while it plans before entering the namespace
 * (namespace-deferral.ts): the repositories it reads are the same, some owned by the builder's ids.
 */
export function builderGitEnv(): Record<string, string> {
  if (process.env.GIT_CONFIG_NOSYSTEM) return commandScopeSafeDirectory();
  const system = process.env.GIT_CONFIG_SYSTEM || '/etc/gitconfig';
  const file = join(homePaths().root, 'run', 'git-system.config');
  const text = `[include]\n\tpath = ${system}\n[safe]\n\tdirectory = *\n`;
  // Written once: the same text every build (read back, not rewritten).
  if (readIfExists(file) !== text) {
    mkdirSync(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o644 });
    renameSync(tmp, file);
  }
  return { GIT_CONFIG_SYSTEM: file };
}

function readIfExists(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** Without a system config (GIT_CONFIG_NOSYSTEM) only the command scope is left; local clones lose it. */
function commandScopeSafeDirectory(): Record<string, string> {
  const n = Number(process.env.GIT_CONFIG_COUNT) || 0;
  return { GIT_CONFIG_COUNT: String(n + 1), [`GIT_CONFIG_KEY_${n}`]: 'safe.directory', [`GIT_CONFIG_VALUE_${n}`]: '*' };
}

async function writeIdMaps(pid: number, plan: UserNamespacePlan): Promise<void> {
  const { subuid, subgid } = plan;
  if (!subuid || !subgid) throw new TsbuildError('TSB_INTERNAL', 'subuid mode without a range');
  if (plan.hostRoot) {
    // Root may write any map of its own ids; newuidmap would insist on an /etc/subuid entry.
    const count = Math.min(subuid.count, subgid.count);
    try {
      await writeFile(`/proc/${pid}/uid_map`, `0 ${subuid.start} ${count}\n${HOST_ROOT_IN_NAMESPACE} 0 1\n`);
      await writeFile(`/proc/${pid}/gid_map`, `0 ${subgid.start} ${count}\n${HOST_ROOT_IN_NAMESPACE} 0 1\n`);
    } catch (err) {
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `cannot map root's ids for the build (${subuid.start}+${count}): ${(err as Error).message}`, {
        hint: '`tsbuild doctor` shows the id mode and why',
        cause: err,
      });
    }
    return;
  }
  const maps: Array<[string, number, IdRange]> = [
    ['newuidmap', plan.uid, subuid],
    ['newgidmap', plan.gid, subgid],
  ];
  for (const [tool, own, range] of maps) {
    try {
      // The limit is a hang guard: a loaded machine may take seconds to start the tool.
      await exec(tool, [String(pid), '0', String(own), '1', '1', String(range.start), String(range.count)], { timeout: 60_000 });
    } catch (err) {
      const stderr = (err as { stderr?: string }).stderr?.trim();
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `${tool} failed: ${stderr || (err as Error).message}`, {
        hint: `check /etc/subuid and /etc/subgid (ranges ${range.start}+${range.count}) and that ${tool} is setuid root or has file capabilities (apt-get install uidmap); \`tsbuild doctor\` shows the details`,
        cause: err,
      });
    }
  }
}
