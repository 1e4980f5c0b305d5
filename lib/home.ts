// Where tsbuild keeps its state: $TSBUILD_HOME (default ~/.local/share/tsbuild).
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export interface HomePaths {
  root: string;
  store: string;
  snapshots: string;
  tmp: string;
  locks: string;
  /** Where blobs were seen on registries (see registry/blob-info-cache.ts). */
  blobInfoCache: string;
}

export function homePaths(root = process.env.TSBUILD_HOME || join(process.env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'tsbuild')): HomePaths {
  return {
    root,
    store: join(root, 'store'),
    snapshots: join(root, 'snapshots'),
    tmp: join(root, 'tmp'),
    locks: join(root, 'locks'),
    blobInfoCache: join(root, 'blob-info-cache.json'),
  };
}

/**
 * Where builders of this host meet to publish a stage one at a time (flock files named after
 * repository and signature): $TSBUILD_LOCK_DIR, else <tmpdir>/tsbuild-locks, shared by every user
 * and home (sticky, like /tmp). A directory on a shared file system with working flock extends it
 * across hosts (docs/reliability.md).
 */
export function publishLocksDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSBUILD_LOCK_DIR || join(tmpdir(), 'tsbuild-locks');
}
