// Paths read from git tree objects are data from the repository's authors: git itself refuses to
// check out a tree naming ".", ".." or ".git" (git fsck: hasDot, hasDotdot, hasDotgit), but tools
// that read trees directly meet them (isomorphic-git CVE-2026-63478). Such a path would climb out of
// its directory in an image, or plant a repository: refused before any layer is made of it.
import { TsbuildError } from '../errors.js';

export function checkTreePath(path: string, commit: string): void {
  // Every bad component is empty or starts with a dot: most paths are cleared without a split.
  if (path !== '' && path[0] !== '.' && !path.includes('/.') && !path.includes('//') && !path.endsWith('/')) return;
  for (const c of path.split('/')) {
    if (c === '' || c === '.' || c === '..' || c.toLowerCase() === '.git') {
      throw new TsbuildError(
        'TSB_GIT_TREE_INVALID',
        `commit ${commit.slice(0, 12)} names ${JSON.stringify(path)} in its tree: "${c}" is not a valid file name`,
        {
          hint: 'git fsck calls such a tree broken and git cannot check it out; build another commit',
          details: { commit, path },
        },
      );
    }
  }
}
