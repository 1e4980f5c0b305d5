// Users and groups of an image: resolved from its own /etc/passwd and /etc/group, read without
// following symlinks (a hostile image must not make us read host files).
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';

async function readImageFile(rootfs: string, path: string): Promise<string> {
  let p = rootfs;
  for (const part of path.split('/').filter(Boolean)) {
    p = join(p, part);
    try {
      if ((await lstat(p)).isSymbolicLink()) return '';
    } catch {
      return '';
    }
  }
  return readFile(p, 'utf8').catch(() => '');
}

/** USER as name or uid[:gid] (Docker's rules): the primary group comes from passwd when not given. */
export async function resolveUser(rootfs: string, user: string): Promise<{ uid: number; gid: number }> {
  if (!user) return { uid: 0, gid: 0 };
  const [u, g] = user.split(':') as [string, string | undefined];
  const passwd = await readImageFile(rootfs, '/etc/passwd');
  let uid: number | undefined;
  let gid: number | undefined;
  if (/^\d+$/.test(u)) uid = Number(u);
  for (const line of passwd.split('\n')) {
    const f = line.split(':');
    if (f[0] === u || (uid !== undefined && f[2] === String(uid))) {
      uid = Number(f[2]);
      gid = Number(f[3]);
      break;
    }
  }
  if (uid === undefined)
    throw new TsbuildError('TSB_USAGE', `user "${u}" does not exist in the image's /etc/passwd`, { hint: 'create it in an earlier stage or use a numeric id' });
  if (g !== undefined) gid = await resolveGroup(rootfs, g);
  return { uid, gid: gid ?? uid };
}

/** The image's passwd entry of `uid` (its home is Docker's HOME when the image and -e set none). */
export async function passwdEntry(rootfs: string, uid: number): Promise<{ name: string; gid: number; home: string } | undefined> {
  const passwd = await readImageFile(rootfs, '/etc/passwd');
  const f = passwd
    .split('\n')
    .map((l) => l.split(':'))
    .find((x) => x.length >= 6 && x[2] === String(uid));
  return f ? { name: f[0]!, gid: Number(f[3]), home: f[5]! } : undefined;
}

export async function resolveGroup(rootfs: string, group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const text = await readImageFile(rootfs, '/etc/group');
  const line = text.split('\n').find((l) => l.split(':')[0] === group);
  if (!line)
    throw new TsbuildError('TSB_USAGE', `group "${group}" does not exist in the image's /etc/group`, {
      hint: 'create it in an earlier stage or use a numeric id',
    });
  return Number(line.split(':')[2]);
}
