// What this machine offers the builder: root or not, user namespaces, subordinate id ranges,
// newuidmap/newgidmap, overlayfs, and which sandboxes are installed — each with a fix when missing.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface IdRange {
  start: number;
  count: number;
}

export interface ProbeCheck {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

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
  checks: ProbeCheck[];
}

export async function readSubIdRange(file: string, user: string, uid: number): Promise<IdRange | undefined> {
  const text = await readFile(file, 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if ((name === user || name === String(uid)) && start && count) return { start: Number(start), count: Number(count) };
  }
  return undefined;
}

async function canUnshareUser(): Promise<boolean> {
  try {
    await exec('unshare', ['--user', '--map-root-user', 'true'], { timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

async function canMountOverlay(root: boolean): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-probe-'));
  try {
    for (const d of ['l', 'u', 'w', 'm']) await mkdir(join(dir, d));
    const opts = `lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w`;
    if (root) {
      await exec('mount', ['-t', 'overlay', 'overlay', '-o', opts, `${dir}/m`], { timeout: 5000 });
      await exec('umount', [`${dir}/m`]);
    } else {
      await exec('unshare', ['--user', '--map-root-user', '--mount', 'mount', '-t', 'overlay', 'overlay', '-o', `${opts},userxattr`, `${dir}/m`], { timeout: 5000 });
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
  const [userNamespaces, subuid, subgid, overlay] = await Promise.all([
    canUnshareUser(),
    readSubIdRange('/etc/subuid', user, uid),
    readSubIdRange('/etc/subgid', user, uid),
    canMountOverlay(root),
  ]);
  const newuidmap = existsSync('/usr/bin/newuidmap') && existsSync('/usr/bin/newgidmap');
  const sandboxes = {
    bwrap: existsSync('/usr/bin/bwrap'),
    runc: existsSync('/usr/bin/runc') || existsSync('/usr/sbin/runc'),
    crun: existsSync('/usr/bin/crun'),
  };
  const bashStatic = existsSync('/usr/bin/bash-static');
  const checks: ProbeCheck[] = [
    { name: 'privileges', ok: true, detail: root ? 'running as root: stages run directly' : `running as ${user} (uid ${uid}): stages run in a user namespace` },
    { name: 'bubblewrap', ok: sandboxes.bwrap, detail: sandboxes.bwrap ? '/usr/bin/bwrap' : 'not installed', fix: 'apt-get install bubblewrap' },
    { name: 'static bash', ok: bashStatic, detail: bashStatic ? '/usr/bin/bash-static' : 'not installed', fix: 'apt-get install bash-static' },
    { name: 'overlayfs', ok: overlay, detail: overlay ? 'mountable' : 'cannot mount overlayfs here', fix: root ? 'load the overlay module: modprobe overlay' : 'use a kernel >= 5.11 (overlayfs in user namespaces) or run as root' },
  ];
  if (!root) {
    checks.push(
      { name: 'user namespaces', ok: userNamespaces, detail: userNamespaces ? 'available' : 'unprivileged user namespaces are disabled', fix: 'sysctl -w kernel.unprivileged_userns_clone=1 (and user.max_user_namespaces > 0)' },
      { name: 'newuidmap/newgidmap', ok: newuidmap, detail: newuidmap ? 'installed' : 'not installed', fix: 'apt-get install uidmap' },
      {
        name: 'subordinate ids',
        ok: !!subuid && !!subgid,
        detail: subuid && subgid ? `uids ${subuid.start}+${subuid.count}, gids ${subgid.start}+${subgid.count}` : `no range for ${user} in /etc/subuid or /etc/subgid: only a single id can be mapped (chown in stages fails)`,
        fix: `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 ${user}`,
      },
    );
  }
  return { root, user, uid, userNamespaces, ...(subuid ? { subuid } : {}), ...(subgid ? { subgid } : {}), newuidmap, overlay, sandboxes, bashStatic, checks };
}
