// What execvp would find for a command inside an image root, decided before the sandbox starts so
// that `tsbuild run` can answer as `docker run` does: 127 with "executable file not found in $PATH"
// (or "no such file or directory" for a path), 126 with "permission denied" / "is a directory".
// Symlinks are followed inside the root only (an absolute target restarts at the image's /).
import { lstat, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

export type ExecLookup =
  | { found: true; path: string }
  | { found: false; exitCode: 126 | 127; message: string };

const MAX_LINKS = 40;

/** The host path an in-image path names, symlinks resolved within the root; undefined if missing. */
export async function resolveInRoot(rootfs: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop(); // never above the image's /
      continue;
    }
    const host = join(rootfs, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return join(rootfs, ...done);
}

async function check(rootfs: string, inImage: string, shown: string): Promise<ExecLookup | 'missing'> {
  const host = await resolveInRoot(rootfs, inImage);
  if (host === undefined) return 'missing';
  const st = await stat(host).catch(() => undefined);
  if (!st) return 'missing';
  if (st.isDirectory()) return { found: false, exitCode: 126, message: `exec: "${shown}": is a directory` };
  if (!st.isFile() || (st.mode & 0o111) === 0) return { found: false, exitCode: 126, message: `exec: "${shown}": permission denied` };
  return { found: true, path: inImage };
}

/**
 * Look `command` up as execvp does in the sandbox: a name with a slash is a path (relative to
 * `cwd`), any other name is searched in PATH (the sandbox's, from the image and -e).
 */
export async function findExecutable(rootfs: string, command: string, env: readonly string[], cwd: string): Promise<ExecLookup> {
  if (command === '') return { found: false, exitCode: 127, message: 'exec: "": executable file not found in $PATH' };
  if (command.includes('/')) {
    const r = await check(rootfs, posix.resolve(cwd, command), command);
    return r === 'missing' ? { found: false, exitCode: 127, message: `exec: "${command}": no such file or directory` } : r;
  }
  const pathVar = env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  let denied: ExecLookup | undefined;
  for (const dir of pathVar.split(':')) {
    const r = await check(rootfs, posix.resolve(cwd, dir || '.', command), command);
    if (r === 'missing') continue;
    if (r.found) return r;
    denied ??= r; // execvp goes on after EACCES and reports it only if nothing else is found
  }
  return denied ?? { found: false, exitCode: 127, message: `exec: "${command}": executable file not found in $PATH` };
}
