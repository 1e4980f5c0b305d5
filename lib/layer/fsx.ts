// Loads the native fsx addon (native/fsx.c): xattrs on links, mknod and nanosecond utimensat,
// which Node's fs lacks. Synchronous calls, meant for worker threads.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TsbuildError } from '../errors.js';

export interface Fsx {
  /** Value of an xattr, or undefined when the file does not have it. Does not follow symlinks. */
  lgetxattr(path: string, name: string): Buffer | undefined;
  /** Names of the xattrs of a file (empty when the file system has none). Does not follow symlinks. */
  llistxattr(path: string): string[];
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** Removing an absent xattr is not an error. */
  lremovexattr(path: string, name: string): void;
  /** mknod(2): `mode` carries the file type bits (S_IFCHR, S_IFBLK, S_IFIFO) and permissions. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** utimensat(2) with AT_SYMLINK_NOFOLLOW and exact nanoseconds. */
  lutimes(path: string, atimeSec: number, atimeNsec: number, mtimeSec: number, mtimeNsec: number): void;
}

let loaded: Fsx | undefined;

/** The addon, built by `npm ci` (binding.gyp) into build/Release/fsx.node at the package root. */
export function fsx(): Fsx {
  if (loaded) return loaded;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'build', 'Release', 'fsx.node');
    if (existsSync(candidate)) {
      loaded = createRequire(import.meta.url)(candidate) as Fsx;
      return loaded;
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new TsbuildError('TSB_TOOL_MISSING', 'the native addon build/Release/fsx.node is missing', {
    hint: 'run `npm ci` (or `npx node-gyp rebuild`) in the tsbuild package; it needs g++, make and python3',
  });
}
