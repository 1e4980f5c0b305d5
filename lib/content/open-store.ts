// The local store of a tsbuild home, ready to use (its temp dir made, the layout initialised).
import { lstatSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { TsbuildError, noSpaceError } from '../errors.js';
import type { HomePaths } from '../home.js';
import { LayoutStore } from './layout-store.js';

/** What making the home's directories fails with when the home itself is unusable (not a bug of ours). */
const UNUSABLE = new Set(['ENOTDIR', 'EEXIST', 'EACCES', 'EPERM', 'EROFS', 'ELOOP']);

export async function openStore(home: HomePaths): Promise<LayoutStore> {
  try {
    if (!isDirectory(home.tmp)) await mkdir(home.tmp, { recursive: true });
    const store = new LayoutStore(home.store);
    await store.init();
    return store;
  } catch (err) {
    throw homeError(err, home);
  }
}

function homeError(err: unknown, home: HomePaths): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e?.code === 'ENOSPC') return noSpaceError(err, `making the store in ${home.root}`);
  if (!UNUSABLE.has(e?.code ?? '')) return err;
  const blocker = e.code === 'ENOTDIR' || e.code === 'EEXIST' ? notADirectory(e.path ?? home.store, home.root) : undefined;
  const reason = blocker ? `${blocker} is not a directory` : `${e.path ?? home.store}: ${e.code}`;
  return new TsbuildError('TSB_HOME_UNUSABLE', `the tsbuild home ${home.root} cannot hold the store: ${reason}`, {
    hint: 'point TSBUILD_HOME at a writable directory (default ~/.local/share/tsbuild), or move what is in the way',
    cause: err,
  });
}

/** The path at or above `path` (within `root`) that exists but is not a directory. */
function notADirectory(path: string, root: string): string | undefined {
  for (let p = path; p.startsWith(root); p = dirname(p)) {
    try {
      if (!lstatSync(p).isDirectory() && !isDirectory(p)) return p;
    } catch {
      // Not there: look further up.
    }
    if (p === root) break;
  }
  return undefined;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
