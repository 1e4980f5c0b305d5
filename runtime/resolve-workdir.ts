// A step's working directory, resolved inside the image root before the sandbox starts (chroot
// semantics, symlinks read from the image, never from the host), so that the runtime is handed a
// path without symlinks. runc CVE-2024-21626 and bwrap's `--chdir /proc/self/fd/N` put a process in
// the host's procfs through a descriptor the runtime still held; a working directory under the
// sandbox's /proc or /dev (whose /dev/fd is a link to /proc/self/fd), or reached through a symlink
// that climbs out of the image, is refused.
import { lstatSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { TsbuildError } from '../lib/errors.js';

const MAX_LINKS = 40; // the kernel's limit for one path walk

/** Runtime-provided trees inside the sandbox: nothing of the image is there, and they lead outside. */
const SANDBOX_TREES = new Set(['proc', 'dev']);

/**
 * The absolute, symlink-free path of `cwd` inside `rootfs`. Components the image does not have are
 * kept as written (the runtime creates or refuses them). Throws TSB_LAYER_UNSAFE naming `image`.
 */
export function resolveWorkdir(rootfs: string, cwd: string, image = 'the image'): string {
  const refuse = (why: string): never => {
    throw new TsbuildError(
      'TSB_LAYER_UNSAFE',
      `${image}: WorkingDir ${JSON.stringify(cwd)} ${why}; tsbuild refuses it (a working directory there can reach the host)`,
      {
        hint: 'set WORKDIR in the base image (or imageSpec.config.workingDir) to a real directory of the image, e.g. /app',
        details: { workingDir: cwd },
      },
    );
  };
  if (cwd.includes('\0')) refuse('contains a NUL byte');
  const done: string[] = [];
  let todo = cwd.split('/').filter((p) => p !== '' && p !== '.');
  let links = 0;
  let exists = true;
  const check = (): void => {
    if (done.length >= 2 && SANDBOX_TREES.has(done[0]!)) refuse(`is inside /${done[0]} (/${done.join('/')})`);
  };
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    done.push(part);
    check();
    if (!exists) continue;
    const onDisk = join(rootfs, ...done);
    let st;
    try {
      st = lstatSync(onDisk);
    } catch {
      exists = false;
      continue;
    }
    if (!st.isSymbolicLink()) continue;
    if (++links > MAX_LINKS) refuse('has too many levels of symbolic links');
    const target = readlinkSync(onDisk);
    done.pop();
    const targetParts = target.split('/').filter((p) => p !== '' && p !== '.');
    if (target.startsWith('/')) {
      done.length = 0;
    } else {
      // A relative link that climbs above the root "leaves" it; the kernel would stop at the sandbox's
      // root, but such a link only exists to reach something else.
      let depth = done.length;
      for (const p of targetParts) {
        depth += p === '..' ? -1 : 1;
        if (depth < 0) refuse(`goes through the symlink /${[...done, part].join('/')} -> ${target}, which leaves the image root`);
      }
    }
    const where = `/${[...done, part].join('/')} -> ${target}`;
    const absolute = target.startsWith('/') ? targetParts : [...done, ...targetParts];
    const normal: string[] = [];
    for (const p of absolute) p === '..' ? normal.pop() : normal.push(p);
    if (normal.length >= 2 && SANDBOX_TREES.has(normal[0]!)) refuse(`goes through the symlink ${where}, into /${normal[0]}`);
    todo = [...targetParts, ...todo];
  }
  return `/${done.join('/')}`;
}
