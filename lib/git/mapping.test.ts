import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TsbuildError } from '../errors.js';
import { GitRepo } from './repo.js';
import { assertCommitted, listTree, mappingMatcher, mappingParamsHash, readMappingTree, readTree, uncommittedChanges, type GitMapping } from './mapping.js';
import { stageDependencies } from './stage-dependencies.js';

const checksum = async (...args: Parameters<typeof stageDependencies>): Promise<string> => (await stageDependencies(...args)).checksum;
import { TestRepo, withRepo } from '../../test/support/test-repo.js';

async function sampleTree(t: TestRepo): Promise<string> {
  await t.write('README.md', '# readme\n');
  await t.write('src/app/main.js', 'console.log(1)\n');
  await t.write('src/app/run.sh', '#!/bin/sh\n', 0o755);
  await t.write('src/app/.env', 'A=1\n');
  await t.write('src/application/x.js', 'x\n');
  await t.write('src/lib/ü ñ.txt', 'unicode\n');
  await t.write('src/secret/key', 'k\n');
  await t.symlink('src/link', 'app/main.js');
  await t.write('docs/index.md', 'docs\n');
  return t.commit('sample');
}

const m = (over: Partial<GitMapping>): GitMapping => ({ add: '/', to: '/app', ...over });

test('listTree keeps the files of a mapping with their mode, blob id and size, relative to add', async () => {
  await withRepo(async (t, repo) => {
    const c = await sampleTree(t);
    const all = await listTree(repo, c, m({}));
    assert.deepEqual(
      all.map((f) => f.path),
      [
        'README.md',
        'docs/index.md',
        'src/app/.env',
        'src/app/main.js',
        'src/app/run.sh',
        'src/application/x.js',
        'src/lib/ü ñ.txt',
        'src/link',
        'src/secret/key',
      ],
    );
    const byPath = new Map(all.map((f) => [f.path, f]));
    assert.equal(byPath.get('src/app/run.sh')?.mode, '100755');
    assert.equal(byPath.get('src/link')?.mode, '120000');
    assert.equal(byPath.get('src/link')?.size, 'app/main.js'.length);
    assert.equal(byPath.get('README.md')?.mode, '100644');
    assert.equal(byPath.get('README.md')?.size, 9);
    assert.equal(byPath.get('README.md')?.oid, await t.git('rev-parse', `${c}:README.md`));

    const src = await listTree(repo, c, m({ add: '/src', includePaths: ['app'], excludePaths: ['**/.env'] }));
    assert.deepEqual(
      src.map((f) => [f.path, f.repoPath]),
      [
        ['app/main.js', 'src/app/main.js'],
        ['app/run.sh', 'src/app/run.sh'],
      ],
    );
    const globbed = await listTree(repo, c, m({ add: '/src/', includePaths: ['**/*.js', 'lib/'] }));
    assert.deepEqual(
      globbed.map((f) => f.path),
      ['app/main.js', 'application/x.js', 'lib/ü ñ.txt'],
    );
  });
});

test('a single-file add yields one file with an empty relative path; named masks do not match it (werf #664)', async () => {
  await withRepo(async (t, repo) => {
    const c = await sampleTree(t);
    const tree = await readMappingTree(repo, c, m({ add: '/README.md', to: '/doc/README' }));
    assert.equal(tree.addKind, 'file');
    assert.deepEqual(
      tree.files.map((f) => [f.path, f.repoPath]),
      [['', 'README.md']],
    );
    const named = await readMappingTree(repo, c, m({ add: '/README.md', includePaths: ['README.md'] }));
    assert.equal(named.addKind, 'file');
    assert.deepEqual(named.files, []);
    assert.equal((await listTree(repo, c, m({ add: '/README.md', includePaths: ['**/*'] }))).length, 1);
  });
});

test('add kinds: a missing add is "none", a directory whose files are all filtered out is still "dir"', async () => {
  await withRepo(async (t, repo) => {
    const c = await sampleTree(t);
    assert.equal((await readMappingTree(repo, c, m({ add: '/nope' }))).addKind, 'none');
    assert.equal((await readMappingTree(repo, c, m({ add: '/src/ap' }))).addKind, 'none', 'no prefix matching of names');
    const filtered = await readMappingTree(repo, c, m({ add: '/src', includePaths: ['nothing/here'] }));
    assert.equal(filtered.addKind, 'dir');
    assert.deepEqual(filtered.files, []);
  });
});

test('submodules (gitlinks) are reported, not listed as files', async () => {
  await withRepo(async (t, repo) => {
    await t.write('a.txt', 'a');
    const c1 = await t.commit();
    await t.git('update-index', '--add', '--cacheinfo', `160000,${c1},vendor/sub`);
    await t.git('commit', '-q', '-m', 'submodule');
    const c2 = await t.git('rev-parse', 'HEAD');
    const tree = await readMappingTree(repo, c2, m({}));
    assert.deepEqual(
      tree.files.map((f) => f.path),
      ['a.txt'],
    );
    assert.deepEqual(tree.submodules, ['vendor/sub']);
  });
});

test('mappingParamsHash identifies the mapping config, not its stageDependencies', async () => {
  const base = m({ add: '/src', includePaths: ['app/'], owner: 'www' });
  const h = mappingParamsHash(base);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(mappingParamsHash({ ...base, includePaths: ['app'], stageDependencies: { install: ['x'] } }), h);
  assert.equal(mappingParamsHash({ ...base, add: 'src/' }), h);
  assert.notEqual(mappingParamsHash({ ...base, to: '/other' }), h);
  assert.notEqual(mappingParamsHash({ ...base, includePaths: ['app', 'lib'] }), h);
  assert.notEqual(mappingParamsHash({ ...base, includePaths: ['applib'] }), mappingParamsHash({ ...base, includePaths: ['app', 'lib'] }));
  assert.notEqual(mappingParamsHash({ ...base, group: 'www' }), h);
  assert.notEqual(mappingParamsHash({ ...base, url: 'https://x/y.git' }), h);
});

test('stageDependencies checksum changes with the selected files only', async () => {
  await withRepo(async (t, repo) => {
    await t.write('app/package.json', '{}');
    await t.write('app/src/a.js', 'a');
    await t.write('app/src/gen/b.js', 'b');
    await t.write('other/package.json', '{}');
    const c1 = await t.commit();
    const mapping = m({ add: '/app', excludePaths: ['src/gen'] });
    const masks = ['package.json', 'src/**/*.js'];
    const s1 = await stageDependencies(repo, c1, mapping, masks);
    assert.match(s1.checksum, /^[0-9a-f]{64}$/);
    assert.equal(s1.files, 2);
    assert.equal(await checksum(repo, c1, mapping, []), '', 'no masks, no dependency');

    await t.write('other/package.json', '{"changed":1}');
    await t.write('app/README', 'not selected');
    await t.write('app/src/gen/b.js', 'excluded by the mapping');
    const c2 = await t.commit();
    assert.equal(await checksum(repo, c2, mapping, masks), s1.checksum, 'unrelated changes');

    await t.write('app/package.json', '{"dependencies":{}}');
    const c3 = await t.commit();
    const s3 = await checksum(repo, c3, mapping, masks);
    assert.notEqual(s3, s1.checksum);

    await t.write('app/package.json', '{}');
    const c4 = await t.commit();
    assert.equal(await checksum(repo, c4, mapping, masks), s1.checksum, 'same content, same checksum');

    await t.git('update-index', '--chmod=+x', 'app/package.json');
    await t.git('commit', '-q', '-m', 'mode');
    const c5 = await t.git('rev-parse', 'HEAD');
    assert.notEqual(await checksum(repo, c5, mapping, masks), s1.checksum, 'a mode change counts');

    await t.write('app/src/new.js', 'new');
    const c6 = await t.commit();
    assert.notEqual(await checksum(repo, c6, mapping, ['src']), await checksum(repo, c5, mapping, ['src']), 'a new file under a directory mask counts');

    const r = await stageDependencies(repo, c6, mapping, ['package.json', 'missing/**', 'src/gen/b.js']);
    assert.deepEqual(r.unmatchedMasks, ['missing/**', 'src/gen/b.js']);
  });
});

test('uncommitted changes inside a mapping are reported; outside it they are ignored', async () => {
  await withRepo(async (t, repo) => {
    await t.write('app/a.txt', 'a');
    await t.write('docs/x.md', 'x');
    await t.commit();
    const mapping = m({ add: '/app', excludePaths: ['*.log'] });
    await t.write('docs/x.md', 'changed outside');
    await t.write('app/debug.log', 'excluded');
    assert.deepEqual(await uncommittedChanges(repo, mapping), []);
    await assertCommitted(repo, [mapping]);
    await t.write('app/a.txt', 'changed');
    await t.write('app/new.txt', 'untracked');
    assert.deepEqual(
      (await uncommittedChanges(repo, mapping)).map((e) => e.path),
      ['app/a.txt', 'app/new.txt'],
    );
    await assert.rejects(
      assertCommitted(repo, [mapping, m({ add: '/docs' })]),
      (e: unknown) =>
        e instanceof TsbuildError &&
        e.code === 'TSB_GIT_UNCOMMITTED' &&
        /app\/a\.txt\n {2}app\/new\.txt\n {2}docs\/x\.md/.test(e.message) &&
        /--dev/.test(e.hint ?? ''),
    );
    const dev = await repo.workTreeCommit();
    assert.deepEqual(
      (await listTree(repo, dev, mapping)).map((f) => f.path),
      ['a.txt', 'new.txt'],
    );
  });
});

test("listTree of a 20k-file repository runs git once and tests only the paths under a mask's literal prefix", async () => {
  const t = await TestRepo.create();
  try {
    // fast-import writes 20k blobs in well under a second (no work tree involved).
    const lines: string[] = ['commit refs/heads/main', `committer T <t@e> ${t.time} +0000`, 'data 4', 'big', ''];
    for (let i = 0; i < 20_000; i++) {
      const body = `file ${i}\n`;
      lines.push(`M 100644 inline pkg${i % 40}/src/dir${i % 9}/f${i}.${i % 3 === 0 ? 'ts' : 'js'}`, `data ${Buffer.byteLength(body)}`, body);
    }
    const { execFileSync } = await import('node:child_process');
    execFileSync('git', ['-C', t.dir, 'fast-import', '--quiet'], { input: `${lines.join('\n')}\n` });
    const repo = await GitRepo.open(t.dir);
    try {
      const c = await repo.headCommit();
      // The work counted instead of timed (test files share the machine): git commands run, and
      // paths handed to the matcher.
      const gitRuns: string[][] = [];
      const handle = repo as unknown as { records(args: string[]): AsyncIterable<string> };
      const records = handle.records.bind(repo);
      handle.records = (args: string[]) => {
        gitRuns.push(args);
        return records(args);
      };
      const all = await listTree(repo, c, m({ excludePaths: ['**/dir3'] }));
      const matcher = mappingMatcher(m({ includePaths: ['pkg1/**/*.ts'] }));
      let tested = 0;
      const isPathMatched = matcher.isPathMatched.bind(matcher);
      matcher.isPathMatched = (p: string) => {
        tested++;
        return isPathMatched(p);
      };
      const narrow = (await readTree(repo, c, matcher)).files;
      assert.ok(all.length > 17_000 && all.length < 20_000);
      assert.ok(narrow.length > 100);
      assert.ok(narrow.every((f) => f.repoPath.startsWith('pkg1/') && f.repoPath.endsWith('.ts')));
      assert.equal(gitRuns.filter((a) => a[0] === 'ls-tree').length, 1, 'one ls-tree for both listings');
      assert.equal(tested, 500, 'only the 500 files under pkg1/ are tested against the masks');
    } finally {
      await repo.close();
    }
  } finally {
    await t.cleanup();
  }
});
