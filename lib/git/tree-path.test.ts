import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { changedPaths } from './archive.js';
import type { GitMapping } from './mapping.js';
import { testGitEnv, withRepo, type TestRepo } from '../../test/support/test-repo.js';

/** A commit made of hand-written tree objects (git mktree takes names a checkout never could). */
function craft(t: TestRepo, files: Record<string, string>): string {
  const git = (args: string[], input?: string): string =>
    execFileSync('git', ['-C', t.dir, ...args], { input, env: testGitEnv(t.time), encoding: 'utf8' }).trim();
  const tree = (entries: Record<string, string | Record<string, string>>): string => {
    const lines = Object.entries(entries).map(([name, v]) =>
      typeof v === 'string' ? `100644 blob ${git(['hash-object', '-w', '--stdin'], v)}\t${name}` : `040000 tree ${tree(v)}\t${name}`,
    );
    return git(['mktree'], `${lines.join('\n')}\n`);
  };
  const nested: Record<string, string | Record<string, string>> = {};
  for (const [path, content] of Object.entries(files)) {
    const [dir, name] = path.includes('/') ? [path.slice(0, path.indexOf('/')), path.slice(path.indexOf('/') + 1)] : [undefined, path];
    if (dir === undefined) nested[name] = content;
    else nested[dir] = { ...((nested[dir] as Record<string, string>) ?? {}), [name]: content };
  }
  return git(['commit-tree', tree(nested), '-m', 'crafted']);
}

test('tree entries named ".", "..", ".git" (any case) are refused by the tree listing and the patch listing', async () => {
  await withRepo(async (t, repo) => {
    await t.write('app/a.txt', 'a');
    const base = await t.commit();
    const mapping: GitMapping = { add: '/', to: '/app' };
    for (const bad of ['app/..', '.git', 'app/.GIT', 'app/.']) {
      const c = craft(t, { 'app/a.txt': 'a', [bad]: 'pwned' });
      const refused = { code: 'TSB_GIT_TREE_INVALID', message: new RegExp(`commit ${c.slice(0, 12)} names ${JSON.stringify(bad).replace(/\./g, '\\.')}`) };
      await assert.rejects(repo.treeEntries(c), refused, bad);
      await assert.rejects(changedPaths(repo, base, c, mapping), refused, bad);
    }
    // Names that only look alike are files like any other.
    const ok = craft(t, { 'app/a.txt': 'a', '.gitignore': 'x', '.github/ci': 'x', 'app/a..b': 'x', 'app/.git~': 'x' });
    assert.deepEqual((await repo.treeEntries(ok)).map((e) => e.path).sort(), ['.github/ci', '.gitignore', 'app/.git~', 'app/a..b', 'app/a.txt']);
  });
});
