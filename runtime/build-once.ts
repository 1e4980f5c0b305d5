// A cache directory built once: under a cross-process lock, into a temp dir that is renamed into
// place, so concurrent builders never see a half-made directory and never make it twice.
import { lstat, mkdir, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { withFileLock } from '../lib/internal/file-lock.js';
import { makeOwnedDir, removeOwnedDir } from '../lib/internal/owned-dir.js';

export interface BuildOnceOptions {
  /** The finished directory. */
  done: string;
  lockFile: string;
  /** Where temp directories go (same filesystem as `done`). */
  tmpRoot: string;
  /**
   * Files `fill` writes beside its directory (in its parent) that are moved next to `done`, before
   * it, so whoever sees `done` also sees them.
   */
  beside?: string[];
  /** Owner locks of this home: a temp dir left by a killed process is removed by the next build. */
  ownerLocks: string;
  signal?: AbortSignal | undefined;
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

/** `fill` gets an empty (existing) directory `<tmp>/fs` to populate; it becomes `done`. */
export async function buildOnce(options: BuildOnceOptions, fill: (dir: string) => Promise<void>): Promise<void> {
  if (await exists(options.done)) return;
  await withFileLock(
    options.lockFile,
    async () => {
      if (await exists(options.done)) return;
      const tmp = await makeOwnedDir(options.tmpRoot, 'once-', options.ownerLocks);
      try {
        await mkdir(join(tmp, 'fs'));
        await fill(join(tmp, 'fs'));
        await mkdir(dirname(options.done), { recursive: true });
        for (const name of options.beside ?? []) await rename(join(tmp, name), join(dirname(options.done), name));
        await rename(join(tmp, 'fs'), options.done);
      } finally {
        await removeOwnedDir(tmp);
      }
    },
    options.signal ? { signal: options.signal } : {},
  );
}
