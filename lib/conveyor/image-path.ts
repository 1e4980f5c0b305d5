// Paths resolved inside an image's root filesystem the way Docker's `COPY --from` resolves them:
// symlinks are followed as if the root were `/` (absolute targets restart at it, ".." stops at it),
// so nothing outside the root is ever looked at. Used for import `add:` (in the source image) and for
// import and git `to:` (in the image being built: `/bin/x` on a usrmerged base lands in /usr/bin).
import { lstat, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';

const MAX_LINKS = 40;

export interface ResolvedImagePath {
  /** Absolute in-image path ("/" for the root). */
  path: string;
  /** What is there: missing (from the first missing component on), dir, symlink (only when not followed), other. */
  kind: 'missing' | 'dir' | 'symlink' | 'other';
}

/**
 * Resolve `path` inside `rootfs`. Every component but the last is followed when it is a symlink; the
 * last one too when `followLast` is set. Components below a missing one are kept as written.
 */
export async function resolveImagePath(rootfs: string, path: string, options: { followLast: boolean }): Promise<ResolvedImagePath> {
  let stack: string[] = [];
  const queue = path.split('/');
  let links = 0;
  let kind: ResolvedImagePath['kind'] = 'dir';
  let missing = false;
  while (queue.length > 0) {
    const c = queue.shift()!;
    if (c === '' || c === '.') continue;
    if (c === '..') {
      stack.pop();
      continue;
    }
    const last = queue.every((q) => q === '' || q === '.');
    if (missing) {
      stack.push(c);
      continue;
    }
    const st = await lstat(join(rootfs, ...stack, c)).catch(() => undefined);
    if (st === undefined) {
      missing = true;
      kind = 'missing';
      stack.push(c);
    } else if (st.isSymbolicLink() && (!last || options.followLast)) {
      if (++links > MAX_LINKS) {
        throw new TsbuildError('TSB_LAYER_UNSAFE', `too many levels of symbolic links resolving "${path}"`, {
          hint: 'the image has a symlink loop on this path',
        });
      }
      const target = await readlink(join(rootfs, ...stack, c));
      if (target.startsWith('/')) stack = [];
      queue.unshift(...target.split('/'));
    } else {
      stack.push(c);
      kind = st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
      if (!last && !st.isDirectory()) {
        // A file in the middle: nothing below it exists.
        missing = true;
        kind = 'missing';
      }
    }
  }
  return { path: `/${stack.join('/')}`, kind };
}
