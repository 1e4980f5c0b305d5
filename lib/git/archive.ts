// Tar-ready entries of a git mapping: the full copy (gitArchive) and the changes between two commits
// (git patches, DESIGN decision 1: changed files of the target commit + removed paths, no git apply).
// Timestamps are the commit time (DESIGN decision 5); entries are sorted by path.
import type { Readable } from 'node:stream';
import { TsbuildError } from '../errors.js';
import { addPath, mappingMatcher, readTree, toPath, type GitMapping, type TreeFile, type TreeFileMode } from './mapping.js';
import { STREAM_BLOB_THRESHOLD, type GitRepo } from './repo.js';
import { checkTreePath } from './tree-path.js';

export interface ArchiveEntry {
  /** Absolute path in the image (under the mapping's `to`). */
  path: string;
  type: 'file' | 'symlink' | 'dir';
  /** Permission bits: 0o644 / 0o755 files, 0o777 symlinks, 0o755 directories. */
  mode: number;
  /** Bytes of file content; 0 for directories and symlinks. */
  size: number;
  /** Seconds since the epoch: the commit time. */
  mtime: number;
  /** Numeric owner/group from the mapping, or 0 when neither a number nor a name was given. */
  uid?: number;
  gid?: number;
  /** Owner/group names from the mapping: the consumer resolves them in the image (/etc/passwd). */
  uname?: string;
  gname?: string;
  linkTarget?: string;
  /** Blob id (files and symlinks). */
  oid?: string;
  /** File content: a Buffer for small files, a stream of `git cat-file blob` for large ones. */
  data?: () => Promise<Buffer> | Readable;
}

interface Ownership {
  uid?: number;
  gid?: number;
  uname?: string;
  gname?: string;
}

function ownership(mapping: GitMapping): Ownership {
  const own: Ownership = {};
  const isId = (s: string): boolean => /^\d+$/.test(s);
  if (mapping.owner) {
    if (isId(mapping.owner)) own.uid = Number(mapping.owner);
    else own.uname = mapping.owner;
  } else own.uid = 0;
  if (mapping.group) {
    if (isId(mapping.group)) own.gid = Number(mapping.group);
    else own.gname = mapping.group;
  } else if (!mapping.owner) own.gid = 0; // with an owner, the group is the owner's primary group
  return own;
}

/** Where a file of the mapping lands in the image; a single-file `add` is renamed to `to`. */
function imagePath(mapping: GitMapping, rel: string): string {
  const to = toPath(mapping);
  if (rel === '') return to;
  return to === '/' ? `/${rel}` : `${to}/${rel}`;
}

async function fileEntry(repo: GitRepo, file: Pick<TreeFile, 'mode' | 'oid' | 'size'>, path: string, mtime: number, own: Ownership): Promise<ArchiveEntry> {
  if (file.mode === '120000') {
    const linkTarget = (await repo.readBlob(file.oid)).toString('utf8');
    return { path, type: 'symlink', mode: 0o777, size: 0, mtime, ...own, linkTarget, oid: file.oid };
  }
  const { oid, size } = file;
  return {
    path,
    type: 'file',
    mode: file.mode === '100755' ? 0o755 : 0o644,
    size,
    mtime,
    ...own,
    oid,
    data: () => (size > STREAM_BLOB_THRESHOLD ? repo.streamBlob(oid) : repo.readBlob(oid)),
  };
}

function dirEntry(path: string, mtime: number, own: Ownership): ArchiveEntry {
  return { path, type: 'dir', mode: 0o755, size: 0, mtime, ...own };
}

/** Directories from `to` down to the parent of `rel` (relative to add), as image paths. */
function parentDirs(mapping: GitMapping, rel: string): string[] {
  const out: string[] = [];
  const parts = rel.split('/');
  for (let i = 0; i < parts.length; i++) out.push(imagePath(mapping, parts.slice(0, i).join('/')));
  return out;
}

const byPath = (a: { path: string }, b: { path: string }): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export interface ArchiveOptions {
  /**
   * How many entries ahead small blobs (≤ 256 KiB) are requested from git while the consumer is
   * busy, pipelining the cat-file round trips. Default 64; 0 reads only when data() is called.
   */
  readAhead?: number;
}

const READ_AHEAD_MAX_BLOB = 256 * 1024;

/**
 * The full copy of a mapping at a commit: every kept file and symlink, plus directory entries for
 * `to` and every directory leading to a kept file (0755, commit time). Ancestors of `to` are not
 * emitted, so directories already in the image keep their owner and mode. Sorted by path.
 * Throws TSB_GIT_NOT_FOUND when `add` names nothing at the commit (werf v2 does the same), and
 * TSB_CONFIG_SCHEMA when it names a single file and `to` is the root.
 */
export async function* archiveEntries(repo: GitRepo, commit: string, mapping: GitMapping, options: ArchiveOptions = {}): AsyncGenerator<ArchiveEntry> {
  const tree = await readTree(repo, commit, mappingMatcher(mapping));
  if (tree.addKind === 'none') {
    throw new TsbuildError('TSB_GIT_NOT_FOUND', `git.add: ${mapping.add} matches no files at commit ${commit.slice(0, 12)}`, {
      hint: 'fix `add` in werf.yaml (a path inside the repository, e.g. "/" or "/src"), or commit the path',
      details: { add: mapping.add, commit },
    });
  }
  if (tree.addKind === 'file' && toPath(mapping) === '/') {
    // The file would have to become the image's root directory: werf refuses it, and a layer entry
    // with an empty name is one no applier writes, so the file would silently be missing.
    const name = mapping.add.slice(mapping.add.lastIndexOf('/') + 1);
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `git mapping add: ${mapping.add} is a single file and to: / gives it no name in the image`, {
      hint: `write to: /${name} (or the path the file should have)`,
      details: { add: mapping.add, to: mapping.to, commit },
    });
  }
  const { unixSeconds: mtime } = await repo.commitInfo(commit);
  const own = ownership(mapping);
  const plan: Array<{ path: string; file?: TreeFile }> = [];
  if (tree.addKind === 'dir') {
    const dirs = new Set<string>();
    if (toPath(mapping) !== '/') dirs.add(toPath(mapping));
    for (const f of tree.files) for (const d of parentDirs(mapping, f.path)) if (d !== '/') dirs.add(d);
    for (const d of dirs) plan.push({ path: d });
  }
  for (const f of tree.files) plan.push({ path: imagePath(mapping, f.path), file: f });
  plan.sort(byPath);

  const readAhead = options.readAhead ?? 64;
  const ahead = new Map<number, Promise<Buffer>>();
  let scheduled = 0;
  for (let i = 0; i < plan.length; i++) {
    for (; readAhead > 0 && scheduled < plan.length && scheduled <= i + readAhead; scheduled++) {
      const f = plan[scheduled]?.file;
      if (f && f.mode !== '120000' && f.size <= READ_AHEAD_MAX_BLOB) {
        const pending = repo.readBlob(f.oid);
        pending.catch(() => undefined); // reported by data() if the consumer asks for it
        ahead.set(scheduled, pending);
      }
    }
    const item = plan[i] as { path: string; file?: TreeFile };
    if (!item.file) {
      yield dirEntry(item.path, mtime, own);
      continue;
    }
    const entry = await fileEntry(repo, item.file, item.path, mtime, own);
    const pending = ahead.get(i);
    if (pending) {
      ahead.delete(i);
      entry.data = () => pending;
    }
    yield entry;
  }
}

export interface MappingChanges {
  /** Added or modified files/symlinks (content of the target commit) and directories new in it. Sorted. */
  changed: ArchiveEntry[];
  /** Image paths of files and symlinks that no longer exist (deleted, renamed away, replaced by a directory). Sorted. */
  removed: string[];
}

interface RawChange {
  status: string;
  srcMode: string;
  dstMode: string;
  dstOid: string;
  repoPath: string;
}

async function rawChanges(repo: GitRepo, from: string, to: string, mapping: GitMapping): Promise<RawChange[]> {
  for (const c of [from, to]) {
    if (!(await repo.commitExists(c))) {
      throw new TsbuildError('TSB_GIT_NOT_FOUND', `commit ${c} is not in the repository`, {
        hint: 'the commit was removed by a rebase or never fetched; the stage that recorded it must be rebuilt',
        details: { commit: c },
      });
    }
  }
  const matcher = mappingMatcher(mapping);
  const prefixes = matcher.literalPrefixes().filter((p) => p !== '');
  // -t adds tree entries, which tell which directories are new in the target commit.
  const args = ['diff-tree', '-r', '-t', '-z', '--no-renames', '--no-ext-diff', '--ignore-submodules', from, to];
  if (prefixes.length > 0) args.push('--', ...prefixes);
  const out: RawChange[] = [];
  let header: string[] | undefined;
  for await (const rec of repo.records(args)) {
    if (header === undefined) {
      header = rec.startsWith(':') ? rec.slice(1).split(' ') : undefined;
      continue;
    }
    const [srcMode = '', dstMode = '', , dstOid = '', status = ''] = header;
    header = undefined;
    checkTreePath(rec, to);
    out.push({ status: status.charAt(0), srcMode, dstMode, dstOid, repoPath: rec });
  }
  return out;
}

const isFileMode = (m: string): boolean => m.startsWith('100') || m === '120000';

interface FilteredChanges {
  files: Array<{ rel: string; mode: TreeFileMode; oid: string; size: number }>;
  removed: string[];
  newDirs: Set<string>;
}

/** The diff filtered by the mapping, with blob sizes (one batch-check; no blob is read). */
async function filteredChanges(repo: GitRepo, fromCommit: string, toCommit: string, mapping: GitMapping): Promise<FilteredChanges> {
  const matcher = mappingMatcher(mapping);
  const raw = await rawChanges(repo, fromCommit, toCommit, mapping);
  const newDirs = new Set(raw.filter((c) => c.status === 'A' && c.dstMode === '040000').map((c) => c.repoPath));
  const removed: string[] = [];
  const files: FilteredChanges['files'] = [];
  for (const c of raw) {
    if (!matcher.isPathMatched(c.repoPath)) continue;
    const rel = matcher.relative(c.repoPath) ?? c.repoPath;
    const srcIsFile = isFileMode(c.srcMode);
    const dstIsFile = isFileMode(c.dstMode);
    if (srcIsFile && (c.status === 'D' || !dstIsFile)) removed.push(imagePath(mapping, rel));
    if (dstIsFile && c.status !== 'D') {
      const mode = c.dstMode === '120000' ? '120000' : (parseInt(c.dstMode.slice(3), 8) & 0o111) !== 0 ? '100755' : '100644';
      files.push({ rel, mode, oid: c.dstOid, size: 0 });
    }
  }
  const sizes = await repo.objectSizes(files.map((f) => f.oid));
  for (const f of files) f.size = sizes.get(f.oid) ?? 0;
  return { files, removed, newDirs };
}

/**
 * What changed in a mapping between two commits, as entries to extract and paths to delete
 * (`git diff-tree -r --no-renames`: a rename is a removal plus an addition). Apply `removed`
 * first, then `changed`; pruning directories that became empty is the caller's job (as werf does).
 */
export async function changedPaths(repo: GitRepo, fromCommit: string, toCommit: string, mapping: GitMapping): Promise<MappingChanges> {
  const base = addPath(mapping);
  const { files, removed, newDirs } = await filteredChanges(repo, fromCommit, toCommit, mapping);
  const { unixSeconds: mtime } = await repo.commitInfo(toCommit);
  const own = ownership(mapping);
  const changed: ArchiveEntry[] = [];
  const dirs = new Set<string>();
  for (const f of files) {
    const parts = f.rel.split('/');
    for (let i = 0; i < parts.length && f.rel !== ''; i++) {
      // Directories that did not exist at fromCommit; `to` itself when the whole `add` is new.
      const relDir = parts.slice(0, i).join('/');
      const repoDir = relDir === '' ? base : base === '' ? relDir : `${base}/${relDir}`;
      const path = imagePath(mapping, relDir);
      if (path !== '/' && newDirs.has(repoDir) && !dirs.has(path)) {
        dirs.add(path);
        changed.push(dirEntry(path, mtime, own));
      }
    }
    changed.push(await fileEntry(repo, f, imagePath(mapping, f.rel), mtime, own));
  }
  changed.sort(byPath);
  removed.sort();
  return { changed, removed };
}

/**
 * Size of the filtered change between two commits, for the gitCache "≥ 1 MiB" rule: the sum of
 * the sizes of changed blobs (symlink targets included) plus the UTF-8 length of every changed or
 * removed image path. werf measures its text patch file instead; this counts what a patch layer
 * would carry, and reads no blob.
 */
export async function patchSize(repo: GitRepo, fromCommit: string, toCommit: string, mapping: GitMapping): Promise<number> {
  if (fromCommit === toCommit) return 0;
  const { files, removed } = await filteredChanges(repo, fromCommit, toCommit, mapping);
  let total = 0;
  for (const f of files) total += f.size + Buffer.byteLength(imagePath(mapping, f.rel));
  for (const p of removed) total += Buffer.byteLength(p);
  return total;
}
