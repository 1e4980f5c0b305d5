// stageDependencies checksum (werf-spec §2.5): what a user stage depends on in a git mapping.
// tsbuild hashes the selected files themselves, so a commit that touches nothing selected leaves it
// unchanged, and so does the same content reached by a different history.
import { createHash } from 'node:crypto';
import { MaskSet } from './masks.js';
import { mappingMatcher, readTree, type GitMapping } from './mapping.js';
import type { GitRepo } from './repo.js';

export interface StageDependenciesResult {
  /** "" when there are no masks; otherwise lowercase hex sha256 (see stageDependencies). */
  checksum: string;
  /** Number of files selected. */
  files: number;
  /** Masks that selected nothing (werf warns "dependency path not found"). */
  unmatchedMasks: string[];
}

/**
 * Selects the files kept by the mapping (add, includePaths, excludePaths) AND matched by any of
 * `masks` (relative to `add`) at `commit`, and hashes them: sha256 over the lines
 * `<path relative to add> NUL <mode> NUL <blob id> LF`, sorted by path. Unlike werf (which hashes
 * tree ids of whole matched directories and ignores a file's mode), a mode change counts here.
 */
export async function stageDependencies(repo: GitRepo, commit: string, mapping: GitMapping, masks: readonly string[]): Promise<StageDependenciesResult> {
  if (masks.length === 0) return { checksum: '', files: 0, unmatchedMasks: [] };
  const tree = await readTree(repo, commit, mappingMatcher(mapping, masks));
  const files = [...tree.files].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  const hash = createHash('sha256');
  for (const f of files) hash.update(`${f.path}\0${f.mode}\0${f.oid}\n`);
  const unmatchedMasks = masks.filter((mask) => {
    const set = new MaskSet([mask]);
    return !files.some((f) => set.matches(f.path));
  });
  return { checksum: hash.digest('hex'), files: files.length, unmatchedMasks };
}
