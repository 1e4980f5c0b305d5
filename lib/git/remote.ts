// Remote git mappings (`url` + `branch` | `tag` | `commit`): a bare clone per URL in a cache
// directory the caller owns, fetched on each use under a per-URL file lock, resolved to a commit.
import { access, mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sha256Hex } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { withFileLock } from '../internal/file-lock.js';
import { runGit } from './git-command.js';
import { GitRepo } from './repo.js';

export interface RemoteSource {
  url: string;
  branch?: string;
  tag?: string;
  commit?: string;
}

export interface OpenRemoteOptions {
  /** Directory holding the bare clones (e.g. $TSBUILD_HOME/git). */
  cacheDir: string;
  /** Use the cached clone without contacting the remote (air-gapped builds). */
  offline?: boolean;
  signal?: AbortSignal | undefined;
  lockTimeoutMs?: number;
}

export interface RemoteCheckout {
  /** The bare clone; close() it when done. */
  repo: GitRepo;
  commit: string;
}

/** Where the remote default branch (the remote's HEAD) is recorded in the clone. */
const REMOTE_HEAD = 'refs/tsbuild/remote-HEAD';

/** The URL with any password (and token-like user) removed, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1***@');
}

/** The cache directory of a URL's bare clone: readable name + hash of the exact URL. */
export function remoteCachePath(cacheDir: string, url: string): string {
  const name = (
    url
      .replace(/\.git\/?$/, '')
      .split(/[/:]/)
      .filter(Boolean)
      .pop() ?? 'repo'
  )
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .slice(0, 40);
  return join(cacheDir, `${name}-${sha256Hex(url).slice(0, 16)}.git`);
}

/** Redacts credentials in every URL of a text (git messages quote URLs). */
function redactText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^@/\s'"]*@/gi, '$1***@');
}

function remoteError(what: string, url: string, err: unknown): TsbuildError {
  const stderr = err instanceof TsbuildError ? String(err.details.stderr ?? err.message) : String(err);
  // No `cause`: the git error quotes its argv, which holds the URL as written (maybe with a password).
  return new TsbuildError('TSB_GIT_REMOTE', `${what} ${redactUrl(url)} failed: ${redactText(stderr.split(url).join(redactUrl(url)))}`, {
    hint: `check the URL and your access (ssh-agent, git credential helper); \`git ls-remote ${redactUrl(url)}\` shows the same problem`,
    details: { url: redactUrl(url) },
  });
}

const exists = (p: string): Promise<boolean> =>
  access(p).then(
    () => true,
    () => false,
  );

async function cloneBare(url: string, dir: string, signal?: AbortSignal): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await runGit(['clone', '--bare', '--quiet', '--', url, tmp], { location: [], signal });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw remoteError('git clone of', url, err);
  }
  await rename(tmp, dir); // an interrupted clone never looks like a usable cache
}

async function fetchAll(repo: GitRepo, url: string, signal?: AbortSignal): Promise<void> {
  const refspecs = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*', `+HEAD:${REMOTE_HEAD}`];
  try {
    await repo.git(['fetch', '--quiet', '--prune', '--no-auto-gc', 'origin', ...refspecs], { signal });
  } catch (err) {
    throw remoteError('git fetch from', url, err);
  }
}

async function resolve(repo: GitRepo, source: RemoteSource, offline: boolean, signal?: AbortSignal): Promise<string> {
  const where = `in ${redactUrl(source.url)}`;
  try {
    if (source.commit) {
      if (!(await repo.commitExists(source.commit)) && !offline) {
        // Not reachable from any branch or tag: ask for the object itself.
        await repo.git(['fetch', '--quiet', '--no-auto-gc', 'origin', source.commit], { signal, okCodes: [1, 128] });
      }
      return await repo.resolveCommit(source.commit);
    }
    if (source.tag) return await repo.resolveCommit(`refs/tags/${source.tag}`);
    if (source.branch) return await repo.resolveCommit(`refs/heads/${source.branch}`);
    return await repo.resolveCommit(REMOTE_HEAD).catch(() => repo.resolveCommit('HEAD'));
  } catch (err) {
    if (!(err instanceof TsbuildError && err.code === 'TSB_GIT_NOT_FOUND')) throw err;
    const what = source.commit
      ? `commit ${source.commit}`
      : source.tag
        ? `tag "${source.tag}"`
        : source.branch
          ? `branch "${source.branch}"`
          : 'a default branch';
    throw new TsbuildError('TSB_GIT_NOT_FOUND', `${what} not found ${where}`, {
      hint: offline
        ? 'the cached clone may be out of date: build once with network access'
        : 'check the branch/tag/commit in werf.yaml against `git ls-remote`',
      details: { url: redactUrl(source.url), branch: source.branch, tag: source.tag, commit: source.commit },
      cause: err,
    });
  }
}

/**
 * Clones (first use) or fetches the remote, then resolves branch/tag/commit (or the remote's
 * default branch) to a commit. A fixed commit already in the clone needs no fetch.
 */
export async function openRemoteRepo(source: RemoteSource, options: OpenRemoteOptions): Promise<RemoteCheckout> {
  const given = [source.branch, source.tag, source.commit].filter((v) => v !== undefined && v !== '');
  if (given.length > 1) {
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `remote git ${redactUrl(source.url)}: specify only one of branch, tag or commit`, {
      hint: 'keep one of `branch: BRANCH`, `tag: TAG` or `commit: COMMIT`',
    });
  }
  const dir = remoteCachePath(options.cacheDir, source.url);
  await mkdir(options.cacheDir, { recursive: true });
  const commit = await withFileLock(
    `${dir}.lock`,
    async () => {
      const offline = options.offline === true;
      let fresh = false;
      if (!(await exists(dir))) {
        if (offline) {
          throw new TsbuildError('TSB_GIT_REMOTE', `no cached clone of ${redactUrl(source.url)} for an offline build`, {
            hint: 'build once with network access so the repository is cloned into the cache',
          });
        }
        await cloneBare(source.url, dir, options.signal);
        fresh = true;
      }
      const repo = await GitRepo.openGitDir(dir);
      try {
        // A fresh clone is up to date (its HEAD is the remote's default branch); a fixed commit
        // already present cannot change.
        const pinned = source.commit !== undefined && (await repo.commitExists(source.commit));
        if (!offline && !fresh && !pinned) await fetchAll(repo, source.url, options.signal);
        return await resolve(repo, source, offline, options.signal);
      } finally {
        await repo.close();
      }
    },
    { timeoutMs: options.lockTimeoutMs, signal: options.signal },
  );
  return { repo: await GitRepo.openGitDir(dir), commit };
}
