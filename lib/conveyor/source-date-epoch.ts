// The time files made by a build are clamped to (BuildKit's rewrite-timestamp): SOURCE_DATE_EPOCH
// when given, otherwise the commit time of the project's HEAD, so that the same commit built in two
// homes, on two machines or a day apart gives the same layers. A project outside git has none.
import { GitRepo, type GitRepoPool } from '../git/index.js';
import { TsbuildError } from '../errors.js';

/** Parse SOURCE_DATE_EPOCH (decimal seconds, as reproducible-builds.org defines it). */
export function parseSourceDateEpoch(text: string): number {
  if (!/^\d+$/.test(text.trim())) {
    throw new TsbuildError('TSB_USAGE', `SOURCE_DATE_EPOCH must be a number of seconds since 1970 (got "${text}")`, {
      hint: 'for example SOURCE_DATE_EPOCH=$(git log -1 --format=%ct)',
    });
  }
  return Number(text.trim());
}

/**
 * The commit time of HEAD of the repository holding `projectDir`, or undefined without one. From
 * `repos` when given (the build's shared repositories: no git process of its own), left open then.
 */
export async function projectCommitTime(projectDir: string, repos?: GitRepoPool): Promise<number | undefined> {
  let repo: GitRepo;
  try {
    repo = await (repos ? repos.open(projectDir) : GitRepo.open(projectDir));
  } catch {
    return undefined;
  }
  try {
    return (await repo.commitInfo(await repo.headCommit())).unixSeconds;
  } catch {
    return undefined;
  } finally {
    if (!repos) await repo.close();
  }
}
