// Path rules for unpacking: entry names are cleaned to components inside the root, and parents are
// resolved inside the root as if chrooted (symlinks followed only within it, ".." clamped at the
// root), so nothing can be written through a symlink to outside the destination.
import { lstatSync, mkdirSync, readlinkSync, unlinkSync, type Stats } from 'node:fs';
import { TsbuildError } from '../errors.js';

export function unsafe(message: string): TsbuildError {
  return new TsbuildError('TSB_LAYER_UNSAFE', `unsafe layer entry: ${message}`, {
    hint: 'the layer tries to reach outside its root; it was rejected and nothing outside the destination was written',
  });
}

/**
 * Components of an entry name inside the root. Leading "/" is contained (the name is taken as
 * root-relative, as containerd does); ".." anywhere is rejected (as moby's Untar does), NUL too.
 */
export function entryComponents(name: string): string[] {
  if (name.includes('\0')) throw unsafe(`name ${JSON.stringify(name)} contains a NUL byte`);
  const comps: string[] = [];
  for (const c of name.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') throw unsafe(`name ${JSON.stringify(name)} contains ".."`);
    comps.push(c);
  }
  return comps;
}

export function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw err;
  }
}

const MAX_LINKS = 40;

/**
 * Resolves directory components to a real directory under `root` (an absolute, symlink-free path).
 * Missing directories are created (mode 0755) when `create` is set, else undefined is returned.
 */
export class InRootResolver {
  private cache = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly hooks: {
      /** Sees each directory made here. */
      onCreate?: (path: string) => void;
      /** When set, an overlay whiteout (char 0/0) on the way is replaced by a new directory, passed here. */
      onWhiteout?: (path: string) => void;
    } = {},
  ) {}

  /** Forget cached resolutions: call after anything in the tree was removed or a symlink was made. */
  invalidate(): void {
    if (this.cache.size > 0) this.cache = new Map();
  }

  resolveDir(comps: string[], create: boolean): string | undefined {
    const key = comps.join('/');
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let stack: string[] = [];
    const queue = comps.slice();
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop(); // only from symlink targets; clamped at the root
        continue;
      }
      const p = `${this.root}/${[...stack, c].join('/')}`;
      const st = lstatOrUndefined(p);
      if (st === undefined || (st.isCharacterDevice() && st.rdev === 0 && this.hooks.onWhiteout)) {
        if (!create) return undefined;
        if (st !== undefined) unlinkSync(p);
        mkdirSync(p, 0o755);
        this.hooks.onCreate?.(p);
        if (st !== undefined) this.hooks.onWhiteout?.(p);
        stack.push(c);
      } else if (st.isDirectory()) {
        stack.push(c);
      } else if (st.isSymbolicLink()) {
        if (++links > MAX_LINKS) throw unsafe(`too many levels of symbolic links resolving "${key}"`);
        const target = readlinkSync(p);
        if (target.startsWith('/')) stack = [];
        queue.unshift(...target.split('/'));
      } else {
        throw new TsbuildError('TSB_LAYER_INVALID', `invalid layer tar: "${key}" needs "${[...stack, c].join('/')}" to be a directory, but it is a file`);
      }
    }
    const real = stack.length === 0 ? this.root : `${this.root}/${stack.join('/')}`;
    if (this.cache.size > 4096) this.cache = new Map();
    this.cache.set(key, real);
    return real;
  }
}
