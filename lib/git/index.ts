// lib/git: what tsbuild reads from git — trees, archives, changes between commits, werf path masks.
// It knows nothing of OCI; entries are tar-ready values that lib/layer turns into layers.
export { GitRepo, STREAM_BLOB_THRESHOLD, type CommitInfo, type StatusEntry } from './repo.js';
export { withGitRepoPool, type GitRepoPool } from './repo-pool.js';
export { formatCommitTime } from './commit-time.js';
export {
  PathMatcher,
  MaskSet,
  cleanMask,
  cleanPath,
  trimGlob,
  werfGlobMatch,
  doublestarMatch,
  type PathMatcherOptions,
  type DirDecision,
} from './masks.js';
export { compileGlob } from './glob.js';
export {
  addPath,
  toPath,
  mappingMatcher,
  readTree,
  readMappingTree,
  listTree,
  mappingParamsHash,
  uncommittedChanges,
  assertCommitted,
  type GitMapping,
  type UserStageWithGit,
  type TreeFile,
  type TreeFileMode,
  type MappingTree,
} from './mapping.js';
export { archiveEntries, changedPaths, patchSize, type ArchiveEntry, type ArchiveOptions, type MappingChanges } from './archive.js';
export { stageDependencies, type StageDependenciesResult } from './stage-dependencies.js';
export { openRemoteRepo, remoteCachePath, redactUrl, type RemoteSource, type RemoteCheckout, type OpenRemoteOptions } from './remote.js';
