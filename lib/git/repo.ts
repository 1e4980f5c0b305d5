// GitRepo: the questions tsbuild asks a repository (HEAD, commit times, ancestry, status, objects),
// answered by the git CLI. Revision lookups, commit and blob reads go through one long-lived
// `cat-file --batch`; close() ends it. A commit's tree is listed once (`ls-tree -r`) and kept: a
// build asks about the same commit once per mapping and stage, and the answer never changes.
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { TsbuildError } from '../errors.js';
import { BlobReader } from './blob-reader.js';
import { gitRecords, runGit, spawnGit, type GitResult } from './git-command.js';
import { formatCommitTime } from './commit-time.js';
import { checkTreePath } from './tree-path.js';

export interface CommitInfo {
  hash: string;
  /** Committer time, seconds since the epoch (the mtime of files added from this commit). */
  unixSeconds: number;
  /** Committer time as Go's time.Time.String() prints it, in UTC: "2024-05-01 12:00:00 +0000 UTC". */
  human: string;
  parents: string[];
}

/** One record of `ls-tree -r --long` of a whole commit. */
export interface TreeEntry {
  /** Repo-relative path. */
  path: string;
  /** Raw git mode ("100644", "120000", "160000", …). */
  mode: string;
  /** "blob" or "commit" (a submodule). */
  type: string;
  oid: string;
  /** Blob size; NaN for a submodule. */
  size: number;
}

export interface StatusEntry {
  /** Repo-relative path. */
  path: string;
  /** Porcelain v1 XY codes: index and work-tree state ('?' '?' for untracked). */
  index: string;
  worktree: string;
  untracked: boolean;
}

/** Blobs up to this size are read through the shared cat-file process; larger ones are streamed. */
export const STREAM_BLOB_THRESHOLD = 4 * 1024 * 1024;

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

export class GitRepo {
  /** Work-tree root, or undefined for a bare repository. */
  readonly root: string | undefined;
  /** Absolute path of the git directory. */
  readonly gitDir: string;
  private readonly location: string[];
  private readonly blobs: BlobReader;
  private readonly commitCache = new Map<string, Promise<CommitInfo>>();
  private readonly treeCache = new Map<string, Promise<TreeEntry[]>>();
  private readonly existing = new Set<string>();
  private shallow: boolean | undefined;

  private constructor(root: string | undefined, gitDir: string, shallow?: boolean) {
    this.root = root;
    this.gitDir = gitDir;
    this.shallow = shallow;
    this.location = root === undefined ? ['--git-dir', gitDir] : ['-C', root];
    this.blobs = new BlobReader(this.location);
  }

  /** Opens the work tree containing `dir` (any directory inside it). */
  static async open(dir: string): Promise<GitRepo> {
    const abs = resolve(dir);
    let res: GitResult;
    try {
      // A project outside git (the config's .Commit, SOURCE_DATE_EPOCH) costs no git process.
      if (!process.env.GIT_DIR && !gitAbove(abs)) throw new TsbuildError('TSB_GIT_COMMAND', 'no .git above', { details: { stderr: 'not a git repository' } });
      // One process answers everything open() and assertNotShallow() need.
      res = await runGit(['rev-parse', '--is-bare-repository', '--absolute-git-dir', '--is-shallow-repository', '--show-toplevel'], { location: ['-C', abs] });
    } catch (err) {
      if (err instanceof TsbuildError && err.code === 'TSB_GIT_COMMAND') {
        const stderr = String(err.details.stderr ?? '');
        if (/must be run in a work tree/.test(stderr)) return GitRepo.openGitDir(abs); // a bare repository
        const why = /not a git repository/i.test(stderr) ? 'is not inside a git repository' : stderr || err.message;
        throw new TsbuildError('TSB_GIT_NOT_A_REPO', `${abs} ${why}`, {
          hint: 'tsbuild builds from git commits: run it inside a git work tree (git init && git add -A && git commit), or pass --dir',
          details: { dir: abs },
          cause: err,
        });
      }
      throw err;
    }
    const [bare, gitDir, shallow, top] = res.stdout.toString('utf8').split('\n');
    const isShallow = shallow === 'true' ? true : shallow === 'false' ? false : undefined;
    if (bare === 'true' || !top) return new GitRepo(undefined, gitDir ?? abs, isShallow);
    return new GitRepo(top, gitDir ?? join(top, '.git'), isShallow);
  }

  /** Opens a bare repository (or any git directory) by its path. */
  static async openGitDir(gitDir: string): Promise<GitRepo> {
    const abs = resolve(gitDir);
    const res = await runGit(['rev-parse', '--absolute-git-dir'], { location: ['--git-dir', abs] }).catch((err: unknown) => {
      throw new TsbuildError('TSB_GIT_NOT_A_REPO', `${abs} is not a git directory`, {
        hint: 'remove the directory so it is cloned again',
        cause: err,
      });
    });
    return new GitRepo(undefined, res.stdout.toString('utf8').trim() || abs);
  }

  /** Runs a git command in this repository (the escape hatch for the modules of lib/git). */
  git(
    args: string[],
    options: { input?: string | Buffer; env?: Record<string, string>; okCodes?: number[]; signal?: AbortSignal | undefined } = {},
  ): Promise<GitResult> {
    return runGit(args, { ...options, location: this.location });
  }

  /** Streams NUL-separated output records of a `-z` command. */
  records(args: string[], options: { input?: string | Buffer } = {}): AsyncGenerator<string> {
    return gitRecords(args, { ...options, location: this.location });
  }

  async close(): Promise<void> {
    await this.blobs.close();
  }

  /** The commit a revision names, read through the shared cat-file process; undefined if none. */
  private async commitObject(rev: string): Promise<{ oid: string; data: Buffer } | undefined> {
    // A revision starting with "-" is refused as `rev-parse` would read it as an option.
    if (rev.startsWith('-')) return undefined;
    const obj = await this.blobs.object(`${rev}^{commit}`);
    return obj && obj.type === 'commit' && OID.test(obj.oid) ? obj : undefined;
  }

  /** Full hash of the commit a revision names; TSB_GIT_NOT_FOUND if it does not name one. */
  async resolveCommit(rev: string): Promise<string> {
    const hash = (await this.commitObject(rev))?.oid;
    if (hash === undefined) {
      throw new TsbuildError('TSB_GIT_NOT_FOUND', `git revision "${rev}" does not name a commit in ${this.root ?? this.gitDir}`, {
        hint: 'check the branch, tag or commit name; for a remote repository make sure it was fetched',
        details: { rev },
      });
    }
    return hash;
  }

  async headCommit(): Promise<string> {
    try {
      return await this.resolveCommit('HEAD');
    } catch (err) {
      if (err instanceof TsbuildError && err.code === 'TSB_GIT_NOT_FOUND') {
        throw new TsbuildError('TSB_GIT_NOT_FOUND', `the repository ${this.root ?? this.gitDir} has no commits yet`, {
          hint: 'commit your files first (git add -A && git commit -m init), or build with --dev',
          cause: err,
        });
      }
      throw err;
    }
  }

  async commitExists(hash: string): Promise<boolean> {
    if (!OID.test(hash)) return false;
    // A build asks once per stored stage, mostly about the same commit: a commit found stays found.
    if (this.existing.has(hash)) return true;
    const found = (await this.commitObject(hash)) !== undefined;
    if (found) this.existing.add(hash);
    return found;
  }

  /** Is `ancestor` reachable from `descendant` (a commit is its own ancestor)? */
  async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
    const [a, d] = [await this.resolveCommit(ancestor), await this.resolveCommit(descendant)];
    const res = await this.git(['merge-base', '--is-ancestor', a, d], { okCodes: [1] });
    return res.code === 0;
  }

  async isShallow(): Promise<boolean> {
    if (this.shallow === undefined) {
      const res = await this.git(['rev-parse', '--is-shallow-repository']);
      this.shallow = res.stdout.toString('utf8').trim() === 'true';
    }
    return this.shallow;
  }

  /** Refuses a shallow clone: patches and ancestry need history (werf-spec section 6.1). */
  async assertNotShallow(): Promise<void> {
    if (await this.isShallow()) {
      throw new TsbuildError('TSB_GIT_SHALLOW', `${this.root ?? this.gitDir} is a shallow clone`, {
        hint: 'fetch the full history first: git fetch --unshallow (in CI: checkout with fetch-depth: 0)',
      });
    }
  }

  commitInfo(hash: string): Promise<CommitInfo> {
    let info = this.commitCache.get(hash);
    if (!info) {
      info = (async () => {
        // The raw object, not `git show`: user config (log.showSignature, …) cannot change it.
        const obj = await this.commitObject(hash);
        if (obj === undefined) await this.resolveCommit(hash); // throws the not-found error
        const full = obj!.oid;
        const raw = obj!.data.toString('utf8');
        const headerEnd = raw.indexOf('\n\n');
        const parents: string[] = [];
        let unixSeconds = 0;
        for (const line of (headerEnd < 0 ? raw : raw.slice(0, headerEnd)).split('\n')) {
          if (line.startsWith('parent ')) parents.push(line.slice(7));
          else if (line.startsWith('committer ')) unixSeconds = Number(/ (-?\d+) [+-]\d{4}$/.exec(line)?.[1] ?? 0);
        }
        return { hash: full, unixSeconds, human: formatCommitTime(unixSeconds), parents };
      })();
      info.catch(() => this.commitCache.delete(hash));
      this.commitCache.set(hash, info);
    }
    return info;
  }

  /**
   * Every file of a commit (`ls-tree -r --long --full-tree`, submodules as "commit" entries), listed
   * once per commit and kept for the life of this handle: mappings and stageDependencies filter it
   * in memory instead of each running git.
   */
  treeEntries(commit: string): Promise<TreeEntry[]> {
    let entries = this.treeCache.get(commit);
    if (!entries) {
      entries = (async () => {
        const out: TreeEntry[] = [];
        for await (const rec of this.records(['ls-tree', '-r', '-z', '--long', '--full-tree', commit])) {
          const tab = rec.indexOf('\t');
          if (tab < 0) continue;
          const [mode, type, oid, size] = rec.slice(0, tab).split(/ +/);
          if (mode === undefined || type === undefined || oid === undefined) continue;
          const path = rec.slice(tab + 1);
          checkTreePath(path, commit);
          out.push({ path, mode, type, oid, size: size === '-' ? NaN : Number(size) });
        }
        return out;
      })();
      entries.catch(() => this.treeCache.delete(commit));
      this.treeCache.set(commit, entries);
    }
    return entries;
  }

  /** Reads a blob into memory through the shared cat-file process. */
  readBlob(oid: string): Promise<Buffer> {
    return this.blobs.read(oid);
  }

  /** A blob as a stream of its own `git cat-file blob` process (for large files). */
  streamBlob(oid: string): Readable {
    if (!OID.test(oid)) throw new TsbuildError('TSB_INTERNAL', `not an object id: ${oid}`);
    const args = ['cat-file', 'blob', oid];
    const child = spawnGit(args, { location: this.location });
    const out = child.stdout as Readable;
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.stdin?.end();
    child.on('error', (e) => out.destroy(e));
    // A consumer that stops reading (destroy) must not leave git blocked on a full pipe.
    out.once('close', () => {
      if (child.exitCode === null && child.signalCode === null) child.kill();
    });
    child.on('close', (code) => {
      if (code !== 0 && !out.destroyed) out.destroy(new TsbuildError('TSB_GIT_COMMAND', `git cat-file blob ${oid} failed (exit ${code}): ${stderr.trim()}`));
    });
    return out;
  }

  /** Object sizes in bytes, one `cat-file --batch-check` for the whole list. */
  async objectSizes(oids: readonly string[]): Promise<Map<string, number>> {
    const sizes = new Map<string, number>();
    const unique = [...new Set(oids)];
    if (unique.length === 0) return sizes;
    const res = await this.git(['cat-file', '--batch-check=%(objectname) %(objectsize)'], { input: `${unique.join('\n')}\n` });
    for (const line of res.stdout.toString('utf8').split('\n')) {
      const [oid, size] = line.split(' ');
      if (oid && size && size !== 'missing') sizes.set(oid, Number(size));
    }
    return sizes;
  }

  /**
   * Uncommitted changes (modified, staged, deleted, untracked and not ignored) under the given
   * repo-relative paths (all when empty). Never takes the index lock.
   */
  async status(paths: readonly string[] = []): Promise<StatusEntry[]> {
    this.requireWorkTree('status');
    const spec = paths.filter((p) => p !== '');
    const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--ignore-submodules=dirty'];
    const out: StatusEntry[] = [];
    for await (const rec of this.records(spec.length > 0 && spec.length === paths.length ? [...args, '--', ...spec] : args)) {
      if (rec.length < 4) continue;
      const index = rec[0] as string;
      const worktree = rec[1] as string;
      out.push({ path: rec.slice(3), index, worktree, untracked: index === '?' });
    }
    return out;
  }

  /**
   * A commit of the work tree as it is now (tracked changes and untracked, non-ignored files),
   * made without touching the user's index, branches or HEAD: a private index file, `add -A`,
   * `write-tree`, `commit-tree -p HEAD`. Returns HEAD itself when nothing differs. Author and
   * dates are fixed (HEAD's committer time) so the same work-tree state gives the same commit.
   */
  async workTreeCommit(): Promise<string> {
    const root = this.requireWorkTree('--dev');
    const head = await this.resolveCommit('HEAD').catch(() => undefined);
    const tmp = await mkdtemp(join(tmpdir(), 'tsbuild-dev-index-'));
    try {
      const index = join(tmp, 'index');
      const realIndex = (await this.git(['rev-parse', '--git-path', 'index'])).stdout.toString('utf8').trim();
      // Starting from a copy of the real index reuses its stat cache (no rehash of every file).
      const copied = await copyFile(isAbsolute(realIndex) ? realIndex : join(root, realIndex), index).then(
        () => true,
        () => false,
      );
      const env = { GIT_INDEX_FILE: index };
      const added = copied
        ? await this.git(['add', '-A', '--', '.'], { env }).then(
            () => true,
            () => false,
          )
        : false;
      if (!added) {
        // No index yet, or one that cannot live elsewhere (split index): start from HEAD's tree.
        await rm(index, { force: true });
        if (head) await this.git(['read-tree', head], { env });
        await this.git(['add', '-A', '--', '.'], { env });
      }
      const tree = (await this.git(['write-tree'], { env })).stdout.toString('utf8').trim();
      if (head) {
        const headTree = (await this.git(['rev-parse', `${head}^{tree}`])).stdout.toString('utf8').trim();
        if (headTree === tree) return head;
      }
      const when = `@${head ? (await this.commitInfo(head)).unixSeconds : 0} +0000`;
      const ident = {
        GIT_AUTHOR_NAME: 'tsbuild',
        GIT_AUTHOR_EMAIL: 'tsbuild@localhost',
        GIT_COMMITTER_NAME: 'tsbuild',
        GIT_COMMITTER_EMAIL: 'tsbuild@localhost',
        GIT_AUTHOR_DATE: when,
        GIT_COMMITTER_DATE: when,
      };
      const args = ['commit-tree', tree, ...(head ? ['-p', head] : []), '-m', 'tsbuild --dev: uncommitted changes of the work tree'];
      return (await this.git(args, { env: ident })).stdout.toString('utf8').trim();
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  private requireWorkTree(what: string): string {
    if (this.root === undefined) throw new TsbuildError('TSB_INTERNAL', `${what} needs a work tree, ${this.gitDir} is bare`);
    return this.root;
  }
}

/**
 * Whether `dir` or a directory above it holds `.git` (a directory or a gitfile) or is a bare
 * repository (HEAD and objects): where git could find a repository without GIT_DIR. When none does,
 * \`rev-parse\` would only say "not a git repository".
 */
function gitAbove(dir: string): boolean {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git')) || (existsSync(join(d, 'HEAD')) && existsSync(join(d, 'objects')))) return true;
    if (dirname(d) === d) return false;
  }
}
