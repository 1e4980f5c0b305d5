// What this machine offers the builder: root or not, user namespaces, subordinate id ranges,
// newuidmap/newgidmap, overlayfs, and which sandboxes are installed — each with a fix when missing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { rootIdRanges } from './root-id-range.js';
import type { IdModeDecision, IdRange, ProbeCheck } from './probe-types.js';
export type { IdModeDecision, IdRange, ProbeCheck } from './probe-types.js';
import { stepProtections, type StepProtections } from './step-protections.js';

const exec = promisify(execFile);
/**
 * How long a probe's process may take before it counts as "no": a hang guard only. A probe that ran
 * out of a 5 s limit on a loaded machine reported working user namespaces or overlayfs as missing,
 * and the build quietly took another path (no cache of a "no": every build of a busy hour did).
 */
const PROBE_HANG_MS = 60_000;

export interface ProbeResult {
  root: boolean;
  user: string;
  uid: number;
  userNamespaces: boolean;
  subuid?: IdRange;
  subgid?: IdRange;
  newuidmap: boolean;
  overlay: boolean;
  sandboxes: { bwrap: boolean; runc: boolean; crun: boolean };
  bashStatic: boolean;
  /** How stages get their ids: real root, a user namespace over the subordinate range, or one id. */
  idMode: IdModeDecision;
  /** The walls around a build step: user namespace mapping, seccomp, capabilities. */
  protections: StepProtections;
  /** The snapshotter `--snapshotter auto` picks: overlayfs where it mounts, else the copying one. */
  snapshotter: 'overlayfs' | 'native';
  checks: ProbeCheck[];
}

const SINGLE_ID_WARNING =
  'no subordinate id range: stages run in a user namespace that maps only your own id to root, so ' +
  'chown to other users, adduser and packages that create system users fail inside stages, and every ' +
  'file in the layers belongs to root. Fix: ask an administrator to run `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <you>`';

/** Decide, cheaply, how this process gets ids for stages (no overlay mount, one `unshare` call when not root). */
export async function decideIdMode(): Promise<IdModeDecision> {
  const uid = process.getuid?.() ?? -1;
  if (uid === 0) return decideRootIdMode();
  const gid = process.getgid?.() ?? -1;
  const user = userInfo().username;
  const [userNamespaces, subuid, subgid] = await Promise.all([
    canUnshareUser(),
    readSubIdRange('/etc/subuid', user, uid),
    readSubIdRange('/etc/subgid', user, uid),
  ]);
  if (!userNamespaces) {
    return {
      mode: 'unavailable',
      reason: 'unprivileged user namespaces are disabled on this machine',
      fix: 'sysctl -w kernel.unprivileged_userns_clone=1 user.max_user_namespaces=15000, or run tsbuild as root',
    };
  }
  const tools = existsSync('/usr/bin/newuidmap') && existsSync('/usr/bin/newgidmap');
  if (subuid && subgid && tools) return { mode: 'subuid', uid, gid, subuid, subgid };
  const why = subuid && subgid ? 'newuidmap/newgidmap are not installed (apt-get install uidmap)' : SINGLE_ID_WARNING;
  return { mode: 'single', uid, gid, warning: why };
}

/** As root: a user namespace over root's range (or tsbuild's reserved one) unless the kernel refuses one. */
async function decideRootIdMode(): Promise<IdModeDecision> {
  const [ranges, userNamespaces] = await Promise.all([rootIdRanges(), canUnshareUser()]);
  const fallback = "build steps run as host root, with Docker's default capabilities minus CAP_MKNOD and the seccomp filter only";
  if (!userNamespaces) return { mode: 'root', warning: `user namespaces are disabled on this machine (user.max_user_namespaces=0?): ${fallback}` };
  if ('error' in ranges) return { mode: 'root', warning: `${ranges.error}; until then ${fallback}` };
  return { mode: 'subuid', uid: 0, gid: 0, subuid: ranges.subuid, subgid: ranges.subgid, hostRoot: { source: ranges.source } };
}

async function readSubIdRange(file: string, user: string, uid: number): Promise<IdRange | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if ((name === user || name === String(uid)) && start && count) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

async function canUnshareUser(): Promise<boolean> {
  try {
    await exec('unshare', ['--user', '--map-root-user', 'true'], { timeout: PROBE_HANG_MS });
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether overlayfs mounts here: 'direct' as root, 'userxattr' as root of tsbuild's user namespace,
 * 'unshare' from outside (a throwaway user namespace, as rootless builds will mount it).
 */
export async function canMountOverlay(how: 'direct' | 'userxattr' | 'unshare'): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-probe-'));
  try {
    for (const d of ['l', 'u', 'w', 'm']) await mkdir(join(dir, d));
    const opts = `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w`;
    if (how === 'unshare') {
      await exec('unshare', ['--user', '--map-root-user', '--mount', 'mount', '-t', 'overlay', 'overlay', '-o', `${opts},userxattr`, `${dir}/m`], {
        timeout: PROBE_HANG_MS,
      });
    } else {
      await exec('mount', ['-t', 'overlay', 'overlay', '-o', how === 'userxattr' ? `${opts},userxattr` : opts, `${dir}/m`], { timeout: PROBE_HANG_MS });
      await exec('umount', [`${dir}/m`]);
    }
    return true;
  } catch {
    return false;
  } finally {
    await rm(dir, { recursive: true, force: true }).catch(() => undefined);
  }
}

export async function probe(): Promise<ProbeResult> {
  const uid = process.getuid?.() ?? -1;
  const root = uid === 0;
  const user = userInfo().username;
  const [userNamespaces, subuid, subgid, overlay, idMode] = await Promise.all([
    canUnshareUser(),
    readSubIdRange('/etc/subuid', user, uid),
    readSubIdRange('/etc/subgid', user, uid),
    canMountOverlay(root ? 'direct' : 'unshare'),
    decideIdMode(),
  ]);
  const newuidmap = existsSync('/usr/bin/newuidmap') && existsSync('/usr/bin/newgidmap');
  const sandboxes = {
    bwrap: existsSync('/usr/bin/bwrap'),
    runc: existsSync('/usr/bin/runc') || existsSync('/usr/sbin/runc'),
    crun: existsSync('/usr/bin/crun'),
  };
  const bashStatic = existsSync('/usr/bin/bash-static');
  const checks: ProbeCheck[] = [
    {
      name: 'privileges',
      ok: true,
      detail: root
        ? 'running as root: builds run as root of a user namespace over a subordinate range'
        : `running as ${user} (uid ${uid}): stages run in a user namespace`,
    },
    { name: 'bubblewrap', ok: sandboxes.bwrap, detail: sandboxes.bwrap ? '/usr/bin/bwrap' : 'not installed', fix: 'apt-get install bubblewrap' },
    { name: 'static bash', ok: bashStatic, detail: bashStatic ? '/usr/bin/bash-static' : 'not installed', fix: 'apt-get install bash-static' },
    {
      name: 'overlayfs',
      ok: overlay,
      detail: overlay ? 'mountable' : 'cannot mount overlayfs here',
      fix: root ? 'load the overlay module: modprobe overlay' : 'use a kernel >= 5.11 (overlayfs in user namespaces) or run as root',
    },
  ];
  if (!root) {
    checks.push(
      {
        name: 'user namespaces',
        ok: userNamespaces,
        detail: userNamespaces ? 'available' : 'unprivileged user namespaces are disabled',
        fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (and user.max_user_namespaces > 0)',
      },
      { name: 'newuidmap/newgidmap', ok: newuidmap, detail: newuidmap ? 'installed' : 'not installed', fix: 'apt-get install uidmap' },
      {
        name: 'subordinate ids',
        ok: !!subuid && !!subgid,
        detail:
          subuid && subgid
            ? `uids ${subuid.start}+${subuid.count}, gids ${subgid.start}+${subgid.count}`
            : `no range for ${user} in /etc/subuid or /etc/subgid: only a single id can be mapped (chown in stages fails)`,
        fix: `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
      },
    );
  }
  const modeDetail =
    idMode.mode === 'root'
      ? `root: ${idMode.warning ?? 'stages run directly'}`
      : idMode.mode === 'subuid' && idMode.hostRoot
        ? `root: uid 0 in a user namespace mapping ${idMode.subuid.start}+${idMode.subuid.count} (${idMode.hostRoot.source})`
        : idMode.mode === 'subuid'
          ? `rootless: uid 0 in a user namespace mapping ${uid} and ${idMode.subuid.start}+${idMode.subuid.count}`
          : idMode.mode === 'single'
            ? 'rootless with a single id (see subordinate ids)'
            : idMode.reason;
  checks.push({ name: 'id mode', ok: idMode.mode !== 'unavailable', detail: modeDetail, ...(idMode.mode === 'unavailable' ? { fix: idMode.fix } : {}) });
  const runtimes = (['runc', 'crun'] as const).filter((n) => sandboxes[n]);
  checks.push({
    name: 'runc/crun',
    ok: true,
    detail: runtimes.length
      ? `${runtimes.join(', ')} (for --sandbox runc|crun)`
      : 'not installed (optional: apt-get install runc crun for --sandbox runc|crun)',
  });
  const { protections, checks: stepChecks } = stepProtections(idMode, uid);
  checks.push(...stepChecks);
  if (!overlay)
    checks.push({ name: 'snapshotter', ok: true, detail: 'overlayfs unavailable: builds use the copying `native` snapshotter (slower, more disk)' });
  const snapshotter = overlay ? 'overlayfs' : 'native';
  return {
    root,
    user,
    uid,
    userNamespaces,
    ...(subuid ? { subuid } : {}),
    ...(subgid ? { subgid } : {}),
    newuidmap,
    overlay,
    sandboxes,
    bashStatic,
    idMode,
    protections,
    snapshotter,
    checks,
  };
}
