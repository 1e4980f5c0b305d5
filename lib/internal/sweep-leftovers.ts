// What killed builds leave in a home — tmp/build-*, snapshots/active/* (with their overlay mounts),
// snapshots/tmp/*, partial blobs in store/.tmp — found by their owner records and removed once the owner is gone. Run at the
// start of every build and by `tsbuild stages gc`.
import { join } from 'node:path';
import type { HomePaths } from '../home.js';
import { sweepOwnedDirs, sweepOwnedFiles, sweepOwnerLocks, type SweepOptions } from './owned-dir.js';

/** The owner locks of a home (see owned-dir.ts). */
export function ownerLocksDir(home: HomePaths): string {
  return join(home.locks, 'owners');
}

/** Paths removed (or, with dryRun, that would be). */
export async function sweepLeftovers(home: HomePaths, options: SweepOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const dir of [home.tmp, join(home.snapshots, 'active'), join(home.snapshots, 'tmp')]) {
    removed.push(...(await sweepOwnedDirs(dir, options)));
  }
  removed.push(...(await sweepOwnedFiles(join(home.store, '.tmp'), options)));
  if (!options.dryRun) await sweepOwnerLocks(ownerLocksDir(home));
  return removed;
}
