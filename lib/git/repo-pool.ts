// One opened repository per directory for a whole command: the config's template data (.Commit),
// SOURCE_DATE_EPOCH and the git mappings all read the project's repository, and each open costs a
// `rev-parse` and a `cat-file --batch` process. Whoever takes a repository from the pool leaves it
// open; the pool closes them all.
import { resolve } from 'node:path';
import { GitRepo } from './repo.js';

export interface GitRepoPool {
  /** GitRepo.open(dir), once per directory (a failure too: it is not asked again). */
  open(dir: string): Promise<GitRepo>;
  close(): Promise<void>;
}

function gitRepoPool(): GitRepoPool {
  const repos = new Map<string, Promise<GitRepo>>();
  return {
    open(dir) {
      const abs = resolve(dir);
      let p = repos.get(abs);
      if (!p) {
        p = GitRepo.open(abs);
        p.catch(() => undefined);
        repos.set(abs, p);
      }
      return p;
    },
    async close() {
      const all = [...repos.values()];
      repos.clear();
      for (const p of all) await p.then((r) => r.close()).catch(() => undefined);
    },
  };
}

/** Runs `fn` with a pool that is closed (its git processes ended) when `fn` settles. */
export async function withGitRepoPool<T>(fn: (repos: GitRepoPool) => Promise<T>): Promise<T> {
  const repos = gitRepoPool();
  try {
    return await fn(repos);
  } finally {
    await repos.close();
  }
}
