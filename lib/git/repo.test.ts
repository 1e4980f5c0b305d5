import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';
import { GitRepo } from './repo.js';
import { formatCommitTime } from './commit-time.js';
import { TestRepo, withRepo } from '../../test/support/test-repo.js';

const isCode = (code: string) => (e: unknown) => e instanceof TsbuildError && e.code === code && !!e.hint;

test('open finds the work-tree root from a subdirectory and refuses a non-repository', async () => {
  await withRepo(async (t) => {
    await t.write('a/b/c.txt', 'x');
    const sub = await GitRepo.open(join(t.dir, 'a', 'b'));
    assert.equal(sub.root, t.dir);
    assert.equal(sub.gitDir, join(t.dir, '.git'));
    await sub.close();
  });
  const bare = await TestRepo.create({ bare: true });
  try {
    const opened = await GitRepo.open(bare.dir);
    assert.equal(opened.root, undefined);
    assert.equal(opened.gitDir, bare.dir);
    await opened.close();
  } finally {
    await bare.cleanup();
  }
  const plain = await mkdtemp(join(tmpdir(), 'tsbuild-nogit-'));
  try {
    await assert.rejects(GitRepo.open(plain), (e: unknown) => isCode('TSB_GIT_NOT_A_REPO')(e) && /not inside a git repository/.test((e as Error).message));
  } finally {
    await rm(plain, { recursive: true, force: true });
  }
});

test('headCommit, commitInfo, commitExists and isAncestor answer from real history', async () => {
  await withRepo(async (t, repo) => {
    await assert.rejects(repo.headCommit(), (e: unknown) => isCode('TSB_GIT_NOT_FOUND')(e) && /no commits yet/.test((e as Error).message));
    await t.write('a.txt', '1');
    const c1 = await t.commit('one');
    await t.write('a.txt', '2');
    const c2 = await t.commit('two');
    assert.equal(await repo.headCommit(), c2);
    const info = await repo.commitInfo(c1);
    assert.deepEqual(info, { hash: c1, unixSeconds: 1_700_000_000, human: '2023-11-14 22:13:20 +0000 UTC', parents: [] });
    assert.deepEqual((await repo.commitInfo(c2.slice(0, 10))).parents, [c1]);
    assert.equal(await repo.commitExists(c1), true);
    assert.equal(await repo.commitExists('0'.repeat(40)), false);
    assert.equal(await repo.commitExists('--output=/tmp/x'), false);
    assert.equal(await repo.isAncestor(c1, c2), true);
    assert.equal(await repo.isAncestor(c2, c1), false);
    assert.equal(await repo.isAncestor(c1, c1), true);
    await assert.rejects(repo.resolveCommit('no-such-branch'), isCode('TSB_GIT_NOT_FOUND'));
    await assert.rejects(repo.resolveCommit('--all'), isCode('TSB_GIT_NOT_FOUND'), 'never read as an option');
    await assert.rejects(repo.isAncestor('0'.repeat(40), c2), isCode('TSB_GIT_NOT_FOUND'));
    assert.equal(formatCommitTime(0), '1970-01-01 00:00:00 +0000 UTC');
  });
});

test('shallow clones are detected and refused with a hint', async () => {
  await withRepo(async (t, repo) => {
    for (let i = 0; i < 3; i++) {
      await t.write('f', String(i));
      await t.commit();
    }
    assert.equal(await repo.isShallow(), false);
    const dest = join(t.tmp, 'shallow');
    await t.git('clone', '-q', '--depth', '1', `file://${t.dir}`, dest);
    const shallow = await GitRepo.open(dest);
    try {
      assert.equal(await shallow.isShallow(), true);
      await assert.rejects(shallow.assertNotShallow(), (e: unknown) => isCode('TSB_GIT_SHALLOW')(e) && /unshallow/.test((e as TsbuildError).hint ?? ''));
    } finally {
      await shallow.close();
    }
  });
});

test('blobs are read through one cat-file process, pipelined, large ones streamed', async () => {
  await withRepo(async (t, repo) => {
    const big = Buffer.alloc(5 * 1024 * 1024, 7);
    await t.write('small.txt', 'hello\n');
    await t.write('empty', '');
    await t.write('big.bin', big);
    await t.write('ü ñ/name with\ttab\nnewline', 'weird');
    await t.commit();
    const lines = (await t.git('ls-tree', '-r', '-z', 'HEAD')).split('\0').filter(Boolean);
    const oid = (name: string): string => {
      const line = lines.find((l) => l.endsWith(`\t${name}`));
      assert.ok(line, name);
      return line.split(/\s/)[2] as string;
    };
    const reads = await Promise.all([
      repo.readBlob(oid('small.txt')),
      repo.readBlob(oid('empty')),
      repo.readBlob(oid('big.bin')),
      repo.readBlob(oid('ü ñ/name with\ttab\nnewline')),
    ]);
    assert.equal(reads[0]?.toString(), 'hello\n');
    assert.equal(reads[1]?.length, 0);
    assert.ok(reads[2]?.equals(big));
    assert.equal(reads[3]?.toString(), 'weird');
    await assert.rejects(repo.readBlob('1'.repeat(40)), isCode('TSB_GIT_NOT_FOUND'));
    assert.equal((await repo.readBlob(oid('small.txt'))).toString(), 'hello\n', 'usable after a missing object');
    const chunks: Buffer[] = [];
    for await (const c of repo.streamBlob(oid('big.bin'))) chunks.push(c as Buffer);
    assert.ok(Buffer.concat(chunks).equals(big));
    const sizes = await repo.objectSizes([oid('small.txt'), oid('big.bin')]);
    assert.deepEqual([...sizes.values()], [6, big.length]);
  });
});

test('status lists modified, staged, deleted and untracked files but not ignored ones, without locking the index', async () => {
  await withRepo(async (t, repo) => {
    await t.write('.gitignore', 'ignored/\n');
    await t.write('src/a.txt', 'a');
    await t.write('src/b.txt', 'b');
    await t.write('doc/x.md', 'x');
    await t.commit();
    assert.deepEqual(await repo.status(), []);
    await t.write('src/a.txt', 'changed');
    await t.remove('src/b.txt');
    await t.write('src/new/c.txt', 'new');
    await t.write('ignored/y', 'y');
    await t.write('doc/x.md', 'staged');
    await t.git('add', 'doc/x.md');
    const indexBefore = await readFile(join(t.dir, '.git', 'index'));
    const mtimeBefore = (await stat(join(t.dir, '.git', 'index'))).mtimeMs;
    const all = await repo.status();
    assert.deepEqual(
      all.map((e) => [e.path, e.index + e.worktree]),
      [
        ['doc/x.md', 'M '],
        ['src/a.txt', ' M'],
        ['src/b.txt', ' D'],
        ['src/new/c.txt', '??'],
      ],
    );
    assert.deepEqual(
      (await repo.status(['src'])).map((e) => e.path),
      ['src/a.txt', 'src/b.txt', 'src/new/c.txt'],
    );
    assert.ok((await readFile(join(t.dir, '.git', 'index'))).equals(indexBefore), 'index not rewritten');
    assert.equal((await stat(join(t.dir, '.git', 'index'))).mtimeMs, mtimeBefore);
  });
});

test('workTreeCommit captures the work tree without touching index, branches or HEAD, and is deterministic', async () => {
  await withRepo(async (t, repo) => {
    await t.write('.gitignore', '*.log\n');
    await t.write('a.txt', 'a');
    await t.write('b.txt', 'b');
    const head = await t.commit();
    assert.equal(await repo.workTreeCommit(), head, 'a clean work tree is HEAD');
    await t.write('a.txt', 'edited');
    await t.remove('b.txt');
    await t.write('new/c.txt', 'c');
    await t.write('debug.log', 'ignored');
    await t.write('staged.txt', 's');
    await t.git('add', 'staged.txt');
    const indexBefore = await readFile(join(t.dir, '.git', 'index'));
    const branchesBefore = await t.git('for-each-ref');
    const statusBefore = await t.git('status', '--porcelain');

    const dev = await repo.workTreeCommit();
    assert.notEqual(dev, head);
    assert.equal(await repo.workTreeCommit(), dev, 'same work tree, same commit');
    assert.deepEqual((await repo.commitInfo(dev)).parents, [head]);
    assert.equal((await repo.commitInfo(dev)).unixSeconds, (await repo.commitInfo(head)).unixSeconds);
    assert.equal(await t.git('ls-tree', '-r', '--name-only', dev), 'a.txt\nnew/c.txt\nstaged.txt\n.gitignore'.split('\n').sort().join('\n'));
    assert.equal(await t.git('show', `${dev}:a.txt`), 'edited');

    assert.ok((await readFile(join(t.dir, '.git', 'index'))).equals(indexBefore), 'index untouched');
    assert.equal(await t.git('for-each-ref'), branchesBefore);
    assert.equal(await t.git('rev-parse', 'HEAD'), head);
    assert.equal(await t.git('status', '--porcelain'), statusBefore);
  });
});

test('workTreeCommit works in a repository without commits', async () => {
  await withRepo(async (t, repo) => {
    await mkdir(join(t.dir, 'd'));
    await t.write('d/x', 'x');
    const dev = await repo.workTreeCommit();
    assert.deepEqual((await repo.commitInfo(dev)).parents, []);
    assert.equal(await t.git('ls-tree', '-r', '--name-only', dev), 'd/x');
  });
});

test('git environment variables of the caller cannot redirect commands to another repository', async () => {
  await withRepo(async (t, repo) => {
    await t.write('a', 'a');
    const head = await t.commit();
    const saved = process.env.GIT_DIR;
    process.env.GIT_DIR = '/nonexistent';
    try {
      assert.equal(await repo.headCommit(), head);
    } finally {
      if (saved === undefined) delete process.env.GIT_DIR;
      else process.env.GIT_DIR = saved;
    }
  });
});
