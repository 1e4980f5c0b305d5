// A werf git mapping ({add, to, includePaths, excludePaths, …}) applied to a commit: which files it
// keeps (ls-tree, narrowed by literal pathspecs and filtered by the mask matcher), its stable id,
// and the uncommitted changes it would miss.
import { sha256Hex } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { canonicalJson } from '../internal/canonical-json.js';
import { PathMatcher, cleanMask, cleanPath } from './masks.js';
import type { GitRepo, StatusEntry, TreeEntry } from './repo.js';

export type UserStageWithGit = 'install' | 'beforeSetup' | 'setup';

/** A git mapping as written in werf.yaml; the config module's GitMappingSpec extends it. */
export interface GitMapping {
  url?: string;
  branch?: string;
  tag?: string;
  commit?: string;
  /** Absolute path inside the repository, default "/"; a directory or a single file. */
  add: string;
  /** Absolute path in the image. */
  to: string;
  includePaths?: readonly string[];
  excludePaths?: readonly string[];
  stageDependencies?: Partial<Record<UserStageWithGit, readonly string[]>>;
  owner?: string;
  group?: string;
}

export type TreeFileMode = '100644' | '100755' | '120000';

export interface TreeFile {
  /** Path relative to the mapping's `add`; "" when `add` names a single file. */
  path: string;
  /** Path relative to the repository root. */
  repoPath: string;
  mode: TreeFileMode;
  /** Blob id. */
  oid: string;
  /** Blob size in bytes (for a symlink: the length of its target). */
  size: number;
}

export interface MappingTree {
  /** What `add` names at the commit. */
  addKind: 'dir' | 'file' | 'none';
  files: TreeFile[];
  /** Repo paths of submodules (gitlinks) inside the mapping: not expanded, not included. */
  submodules: string[];
}

/** `add` as a repo-relative path: "/" → "", "/src/" → "src". */
export function addPath(mapping: Pick<GitMapping, 'add'>): string {
  return cleanPath((mapping.add || '/').replace(/^\/+/, ''));
}

/** `to` cleaned, absolute, without a trailing slash ("/" stays "/"). */
export function toPath(mapping: Pick<GitMapping, 'to'>): string {
  const cleaned = cleanPath(`/${mapping.to}`);
  return cleaned === '' ? '/' : cleaned;
}

/** The mapping's includePaths/excludePaths relative to its `add`. */
export function mappingMatcher(mapping: GitMapping, extraMasks?: readonly string[]): PathMatcher {
  const m = new PathMatcher({ basePath: addPath(mapping), includePaths: mapping.includePaths ?? [], excludePaths: mapping.excludePaths ?? [] });
  return extraMasks ? m.withMasks(extraMasks) : m;
}

function fileMode(raw: string): TreeFileMode | undefined {
  if (raw === '120000') return '120000';
  if (!raw.startsWith('100')) return undefined;
  return (parseInt(raw.slice(3), 8) & 0o111) !== 0 ? '100755' : '100644'; // old repos store 100664
}

/**
 * The files a matcher keeps at a commit: the commit's whole tree, listed once per commit by the
 * repository handle (GitRepo.treeEntries), filtered by the compiled masks. Blobs are not read, and
 * no git process runs for a commit already listed — a build asks once per mapping and stage.
 */
export async function readTree(repo: GitRepo, commit: string, matcher: PathMatcher): Promise<MappingTree> {
  const base = matcher.basePath;
  const files: TreeFile[] = [];
  const submodules: string[] = [];
  const all = await repo.treeEntries(commit);
  const inBase = underBase(all, base);
  // git has no empty directories: `add` is a directory when something lies below it.
  const addKind: MappingTree['addKind'] = base === '' ? 'dir' : inBase.length === 0 ? 'none' : inBase.some((e) => e.path === base) ? 'file' : 'dir';
  for (const e of underPrefixes(all, base, matcher.literalPrefixes())) {
    const repoPath = e.path;
    if (!matcher.isPathMatched(repoPath)) continue;
    if (e.type === 'commit') {
      submodules.push(repoPath);
      continue;
    }
    const mode = fileMode(e.mode);
    if (e.type !== 'blob' || mode === undefined) continue;
    const rel = matcher.relative(repoPath) ?? repoPath;
    files.push({ path: rel, repoPath, mode, oid: e.oid, size: e.size });
  }
  return { addKind, files, submodules };
}

/**
 * The entries below `prefix` (the entry itself included), in tree order, computed once per tree and
 * prefix and kept with the tree. Found by binary search in the tree's paths sorted once: a monorepo's
 * mappings each ask for their own directory, and filtering the whole tree for each grew with
 * mappings × files.
 */
interface TreeIndex {
  /** Positions in the tree, ordered by path. */
  order: number[];
  byPrefix: Map<string, TreeEntry[]>;
}
const indexes = new WeakMap<readonly TreeEntry[], TreeIndex>();
function underBase(all: readonly TreeEntry[], prefix: string): readonly TreeEntry[] {
  if (prefix === '') return all;
  let index = indexes.get(all);
  if (!index) {
    const order = all.map((_, i) => i).sort((a, b) => (all[a]!.path < all[b]!.path ? -1 : all[a]!.path > all[b]!.path ? 1 : 0));
    index = { order, byPrefix: new Map() };
    indexes.set(all, index);
  }
  let subset = index.byPrefix.get(prefix);
  if (!subset) {
    // `prefix` itself, then every path from `prefix/` up to (not including) `prefix0` ('0' follows '/').
    const first = lowerBound(all, index.order, prefix);
    const end = lowerBound(all, index.order, `${prefix}0`);
    const below = `${prefix}/`;
    const hits: number[] = [];
    for (let k = first; k < end; k++) {
      const i = index.order[k]!;
      const path = all[i]!.path;
      if (path === prefix || path.startsWith(below)) hits.push(i);
    }
    subset = hits.sort((a, b) => a - b).map((i) => all[i]!);
    index.byPrefix.set(prefix, subset);
  }
  return subset;
}

/** The first position in `order` whose path is not below `key`. */
function lowerBound(all: readonly TreeEntry[], order: readonly number[], key: string): number {
  let lo = 0;
  let hi = order.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (all[order[mid]!]!.path < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Entries below any of the literal prefixes the masks can reach (all of `base` when none narrows it). */
function underPrefixes(all: readonly TreeEntry[], base: string, prefixes: readonly string[]): readonly TreeEntry[] {
  const narrowed = prefixes.filter((p) => p !== '' && p !== base);
  if (narrowed.length === 0 || prefixes.includes(base) || prefixes.includes('')) return underBase(all, base);
  const seen = new Set<TreeEntry>();
  for (const p of narrowed) for (const e of underBase(all, p)) seen.add(e);
  return narrowed.length === 1 ? underBase(all, narrowed[0]!) : underBase(all, base).filter((e) => seen.has(e)); // in tree order
}

/** readTree for a mapping. */
export function readMappingTree(repo: GitRepo, commit: string, mapping: GitMapping): Promise<MappingTree> {
  return readTree(repo, commit, mappingMatcher(mapping));
}

/** The files a mapping keeps at a commit (path relative to `add`, mode, blob id, size). */
export async function listTree(repo: GitRepo, commit: string, mapping: GitMapping): Promise<TreeFile[]> {
  return (await readMappingTree(repo, commit, mapping)).files;
}

/**
 * A stable id of the mapping's configuration (not of any commit): sha256 over canonical JSON of
 * its source, add, to, masks (cleaned, in order), owner and group. stageDependencies are not part
 * of it: they feed the user stages' signatures instead (as in werf's "paramshash", werf-spec §2.6).
 */
export function mappingParamsHash(mapping: GitMapping): string {
  return sha256Hex(
    canonicalJson({
      v: 'tsbuild.git-mapping/1',
      url: mapping.url,
      branch: mapping.branch,
      tag: mapping.tag,
      commit: mapping.commit,
      add: `/${addPath(mapping)}`,
      to: toPath(mapping),
      includePaths: (mapping.includePaths ?? []).map(cleanMask),
      excludePaths: (mapping.excludePaths ?? []).map(cleanMask),
      owner: mapping.owner,
      group: mapping.group,
    }),
  );
}

/**
 * Uncommitted changes of the work tree that the mapping would pick up (werf's giterminism check).
 * `status` is the whole work tree's status when the caller already has it (one `git status` per
 * build, whatever the number of mappings).
 */
export async function uncommittedChanges(repo: GitRepo, mapping: GitMapping, status?: readonly StatusEntry[]): Promise<StatusEntry[]> {
  const matcher = mappingMatcher(mapping);
  const entries = status ?? (await repo.status(matcher.basePath === '' ? [] : [matcher.basePath]));
  return entries.filter((e) => matcher.isPathMatched(e.path));
}

/** Throws TSB_GIT_UNCOMMITTED naming the changed files when any mapping has uncommitted changes. */
export async function assertCommitted(repo: GitRepo, mappings: readonly GitMapping[], status?: readonly StatusEntry[]): Promise<void> {
  const paths = new Set<string>();
  const all = status ?? (mappings.length > 1 ? await repo.status() : undefined);
  for (const mapping of mappings) for (const e of await uncommittedChanges(repo, mapping, all)) paths.add(e.path);
  if (paths.size === 0) return;
  const list = [...paths].sort();
  const shown = list.slice(0, 10).map((p) => `  ${p}`);
  if (list.length > 10) shown.push(`  … and ${list.length - 10} more`);
  throw new TsbuildError('TSB_GIT_UNCOMMITTED', `uncommitted changes in files used by the build:\n${shown.join('\n')}`, {
    hint: 'commit them (git add -A && git commit), or build the work tree as it is with --dev',
    details: { paths: list },
  });
}
