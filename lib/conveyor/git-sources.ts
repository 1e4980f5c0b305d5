// The git side of a build: each mapping of an image resolved to a repository and a commit — the
// project's repository at HEAD (or the work tree with --dev), remote ones cloned into a cache.
import type { GitMappingSpec, ImageSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import { autoExclude } from './git-overlaps.js';
import { GitRepo, assertCommitted, mappingParamsHash, openRemoteRepo, type GitMapping, type GitRepoPool } from '../git/index.js';

export interface GitSource {
  /** Stable id of the mapping's configuration. */
  id: string;
  /** The mapping (overlap excludes added), a lib/git GitMapping. */
  spec: GitMappingSpec;
  repo: GitRepo;
  /** The commit this build brings in. */
  commit: string;
}

export interface GitSourcesOptions {
  projectDir: string;
  /** $TSBUILD_HOME/git-cache for remote clones. */
  cacheDir: string;
  /** Build the work tree as if committed. */
  dev: boolean;
  signal?: AbortSignal | undefined;
  /** The command's shared repositories: the project's is taken from here (and not closed by close()). */
  repos?: GitRepoPool;
}

/** Commits per mapping id, as recorded on stage images and compared across builds. */
export type GitCommits = Record<string, string>;

export class GitSources {
  private local: Promise<{ repo: GitRepo; commit: string }> | undefined;
  private readonly remotes = new Map<string, Promise<{ repo: GitRepo; commit: string }>>();
  private readonly opened: GitRepo[] = [];
  private readonly checked = new Set<string>();
  /** The work tree's status, taken once per build for every image's giterminism check. */
  private status: ReturnType<GitRepo['status']> | undefined;

  constructor(private readonly options: GitSourcesOptions) {}

  private openLocal(): Promise<{ repo: GitRepo; commit: string }> {
    this.local ??= (async () => {
      let repo: GitRepo;
      try {
        repo = await (this.options.repos ? this.options.repos.open(this.options.projectDir) : GitRepo.open(this.options.projectDir));
      } catch (err) {
        throw new TsbuildError('TSB_CONFIG_SCHEMA', `the config has git mappings but ${this.options.projectDir} is not in a git repository`, {
          hint: 'run `git init && git add -A && git commit` in the project, or remove the `git:` mappings',
          cause: err,
        });
      }
      if (!this.options.repos) this.opened.push(repo);
      await repo.assertNotShallow();
      const commit = this.options.dev ? await repo.workTreeCommit() : await repo.headCommit();
      return { repo, commit };
    })();
    return this.local;
  }

  private openRemote(spec: GitMappingSpec): Promise<{ repo: GitRepo; commit: string }> {
    const key = JSON.stringify([spec.url, spec.branch, spec.tag, spec.commit]);
    let p = this.remotes.get(key);
    if (!p) {
      p = (async () => {
        const source = {
          url: spec.url!,
          ...(spec.branch ? { branch: spec.branch } : {}),
          ...(spec.tag ? { tag: spec.tag } : {}),
          ...(spec.commit ? { commit: spec.commit } : {}),
        };
        const r = await openRemoteRepo(source, { cacheDir: this.options.cacheDir, signal: this.options.signal });
        this.opened.push(r.repo);
        return { repo: r.repo, commit: r.commit };
      })();
      this.remotes.set(key, p);
    }
    return p;
  }

  /** The image's mappings with their commits; local ones checked for uncommitted changes unless --dev. */
  async forImage(image: ImageSpec): Promise<GitSource[]> {
    const out: GitSource[] = [];
    const localMappings: GitMapping[] = [];
    for (const spec of autoExclude(image.git, image.name)) {
      const { repo, commit } = spec.url
        ? await this.openRemote(spec).catch((err: unknown) => Promise.reject(atMapping(err, image, spec)))
        : await this.openLocal();
      if (!spec.url) localMappings.push(spec);
      out.push({ id: mappingParamsHash(spec), spec, repo, commit });
    }
    if (localMappings.length > 0 && !this.options.dev && !this.checked.has(image.name)) {
      this.checked.add(image.name);
      const { repo } = await this.openLocal();
      this.status ??= repo.status();
      await assertCommitted(repo, localMappings, await this.status);
    }
    return out;
  }

  async close(): Promise<void> {
    for (const r of this.opened) await r.close().catch(() => undefined);
  }
}

/** A remote's failure names the image and where its mapping is written (the clone is shared, the config line is not). */
function atMapping(err: unknown, image: ImageSpec, spec: GitMappingSpec): unknown {
  if (!(err instanceof TsbuildError) || err.code !== 'TSB_GIT_REMOTE') return err;
  const where = `${spec.position.file}:${spec.position.line}`;
  return new TsbuildError('TSB_GIT_REMOTE', `image "${image.name || '~'}": ${err.message} (git mapping at ${where})`, {
    ...(err.hint ? { hint: err.hint } : {}),
    details: { ...err.details, image: image.name, file: spec.position.file, line: spec.position.line },
    cause: err,
  });
}

export function currentCommits(sources: GitSource[]): GitCommits {
  return Object.fromEntries(sources.map((s) => [s.id, s.commit]));
}
