// Removing a directory tree whatever a build step left in it. fs.rm works with whole paths, so a
// tree deeper than PATH_MAX (a step can make one with relative mkdir/cd) fails with ENAMETOOLONG
// and would stay forever, failing every later sweep; coreutils' rm walks by descriptor (openat) and
// removes any depth.
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { promisify } from 'node:util';

/** rm -rf: missing is fine; any depth. */
export async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG') throw err;
    // (promisify at the call: reading execFile when the module loads would load node:child_process in every command.)
    await promisify(execFile)('rm', ['-rf', '--', path]);
  }
}
