// Mounting and unmounting an overlayfs for the overlay snapshotter: mount(2)/umount2(2) from this
// process through the fsx addon (well under a millisecond), the mount/umount programs when the
// options do not fit or the call fails (and for their error messages).
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TsbuildError } from '../lib/errors.js';
import { fsx } from '../lib/layer/index.js';

const run = promisify(execFile);

/** One page (x86_64, and the smallest on aarch64), its last byte the terminating NUL. */
const MAX_MOUNT_OPTIONS = 4096;

export interface OverlayDirs {
  /** Layer dirs relative to the snapshot root, bottom first. */
  lowers: string[];
  /** Relative to the snapshot root. */
  upper: string;
  /** Relative to the snapshot root. */
  work: string;
  /** Absolute. */
  merged: string;
}

/** Mount overlayfs at `dirs.merged`; `rootless`: inside tsbuild's user namespace (userxattr). */
export async function mountOverlay(root: string, dirs: OverlayDirs, rootless: boolean): Promise<void> {
  const { lowers, upper, work, merged } = dirs;
  // overlay wants the topmost layer first.
  const lowerdir = [...lowers].reverse().join(':');
  // userxattr refuses redirect_dir=off (which still follows redirects); nofollow neither makes nor follows them.
  const redirect = rootless ? 'nofollow' : 'off';
  const flags = `index=off,redirect_dir=${redirect},metacopy=off${rootless ? ',userxattr' : ''}`;
  const opts = `lowerdir=${lowerdir},upperdir=${upper},workdir=${work},${flags}`;
  // mount(2) copies one page of options: the `mount` program passes a longer string on, and the
  // kernel cuts it short — measured with 260 layers: the bottom 45 were gone and the cut name
  // "l" (the directory of short links) was stacked as a layer. Never mount a different tree.
  if (opts.length >= MAX_MOUNT_OPTIONS) {
    throw new TsbuildError(
      'TSB_SANDBOX_UNAVAILABLE',
      `cannot stack ${lowers.length} layers with overlayfs: their mount options take ${opts.length} bytes, over the kernel's limit of ${MAX_MOUNT_OPTIONS - 1}`,
      { hint: 'use --snapshotter native for this image, or a base image with fewer layers (Docker allows 125)' },
    );
  }
  // mount(2) from this process when the options fit a page with absolute paths (a chain of some
  // 60 layers); else, or when it fails, the `mount` program in the snapshot root (relative paths,
  // and its error message).
  const absolute = (p: string): string => join(root, p);
  const nativeOpts = `lowerdir=${[...lowers].reverse().map(absolute).join(':')},upperdir=${absolute(upper)},workdir=${absolute(work)},${flags}`;
  if (nativeMountAllowed() && nativeOpts.length < 4000 && !/[,:\\]/.test(root)) {
    try {
      fsx().mount!('overlay', merged, 'overlay', nativeOpts);
      return;
    } catch {
      // The program below says why.
    }
  }
  try {
    await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, merged], { cwd: root });
  } catch (err) {
    throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `cannot mount overlayfs: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, {
      hint: 'use --snapshotter native, or see `tsbuild doctor`',
      cause: err,
    });
  }
}

/** Unmounts `path`; a busy mount is detached lazily, one already gone is no error. */
export async function unmountOverlay(path: string): Promise<void> {
  if (nativeMountAllowed()) {
    try {
      fsx().umount!(path);
      return;
    } catch {
      // Busy or already gone: the programs below, with the lazy fallback.
    }
  }
  try {
    await run('umount', [path]);
  } catch {
    await run('umount', ['-l', path]).catch(() => undefined);
  }
}

/** mount(2)/umount2(2) through the addon; TSBUILD_NATIVE_MOUNTS=0 asks for the programs. */
function nativeMountAllowed(): boolean {
  if (process.env.TSBUILD_NATIVE_MOUNTS === '0') return false;
  try {
    return typeof fsx().mount === 'function' && typeof fsx().umount === 'function';
  } catch {
    return false;
  }
}
