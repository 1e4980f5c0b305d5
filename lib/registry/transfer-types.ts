// Small shared shapes of the registry module: a repository on a registry, transfer progress.
import type { Digest } from '../digest.js';

/** A repository on a registry (a Reference without tag or digest fits). */
export interface RepositoryRef {
  registry: string;
  repository: string;
}

export interface TransferProgress {
  digest: Digest;
  mediaType: string;
  /** skipped: already present at the destination; mounted: cross-repo mount; done: transferred. */
  phase: 'skipped' | 'mounted' | 'transferring' | 'done';
  bytes: number;
  total: number;
}
