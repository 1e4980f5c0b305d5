// Where tsbuild keeps its state: $TSBUILD_HOME (default ~/.local/share/tsbuild).
import { homedir } from 'node:os';
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
  return { root, store: join(root, 'store'), snapshots: join(root, 'snapshots'), tmp: join(root, 'tmp'), locks: join(root, 'locks'), blobInfoCache: join(root, 'blob-info-cache.json') };
}
