// Loads the native fsx addon (native/fsx.c): xattrs on links, mknod, nanosecond utimensat, flock,
// mount and umount, which Node's fs lacks. Synchronous calls, meant for worker threads (each loads it
// once); the main thread uses it only for calls that never wait (flock without blocking, an overlay
// mount or umount: well under a millisecond, against a few for a `mount` process).
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
  /**
   * flock(fd, LOCK_EX | LOCK_NB): true when this open file now holds the lock, false when another
   * does. Absent from addons built before it existed (callers fall back).
   */
  tryLockExclusive?(fd: number): boolean;
  /** mount(2) without flags (`data`: the file system's options, at most a page). Absent from older addons. */
  mount?(source: string, target: string, fstype: string, data: string): void;
  /** umount2(2) without flags. Absent from older addons. */
  umount?(target: string): void;
}

let loaded: Fsx | undefined;

interface AddonLoader {
  loadFsx(): { addon: Fsx; path: string };
  platformName(): string;
}

/**
 * The addon, through native/load-fsx.cjs (shared with the npm install script): a local build in
 * build/Release, else the prebuilt binary for this platform shipped in the package. The package root
 * is found by walking up, so the compiled tree (dist/lib/layer) and the bundle (dist/bundle) both work.
 */
export function fsx(): Fsx {
  if (loaded) return loaded;
  const require = createRequire(import.meta.url);
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const loader = join(dir, 'native', 'load-fsx.cjs');
    if (existsSync(loader)) {
      const { loadFsx, platformName } = require(loader) as AddonLoader;
      try {
        loaded = loadFsx().addon;
        return loaded;
      } catch (err) {
        throw new TsbuildError('TSB_TOOL_MISSING', `the native addon fsx is missing for ${platformName()}: ${(err as Error).message}`, {
          hint: 'reinstall tsbuild on a machine with a C toolchain (g++, make, python3) so npm compiles it; in a checkout run ./scripts/setup',
          cause: err,
        });
      }
    }
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  throw new TsbuildError('TSB_TOOL_MISSING', 'the tsbuild package is incomplete: native/load-fsx.cjs is missing', {
    hint: 'reinstall tsbuild (npm i -g tsbuild)',
  });
}
