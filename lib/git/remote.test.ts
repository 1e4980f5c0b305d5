import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';
import { listTree } from './mapping.js';
import { openRemoteRepo, redactUrl, remoteCachePath } from './remote.js';
import { TestRepo, testGitEnv } from '../../test/support/test-repo.js';
import { startGitDaemon, type GitDaemon } from '../../test/support/git-daemon.js';

let upstream: TestRepo; // a work tree we commit in and push from
let bare: TestRepo; // the "remote": a bare repository
let daemon: GitDaemon | undefined;
let daemonUrl = '';
let first = '';
let tagged = '';

async function push(): Promise<void> {
  await upstream.git('push', '-q', '--force', '--tags', bare.dir, 'main', 'feature');
}

before(async () => {
  bare = await TestRepo.create({ bare: true });
  upstream = await TestRepo.create();
  await upstream.write('src/a.txt', 'a1');
  first = await upstream.commit('first');
  await upstream.git('tag', 'v1');
  tagged = first;
  await upstream.git('branch', 'feature');
  await upstream.write('src/a.txt', 'a2');
  await upstream.commit('second');
  await push();
  daemon = await startGitDaemon(bare.tmp, testGitEnv(0));
  daemonUrl = `git://${daemon.host}/repo.git`;
});

after(async () => {
  await daemon?.stop();
  await upstream?.cleanup();
  await bare?.cleanup();
});

for (const kind of ['local path', 'git daemon'] as const) {
  test(`remote (${kind}): clone once, fetch on each use, resolve default branch, branch, tag and commit`, async () => {
    const url = kind === 'local path' ? bare.dir : daemonUrl;
    const cacheDir = join(upstream.tmp, `cache-${kind.replace(' ', '-')}`);
    const head = await upstream.git('rev-parse', 'HEAD');

    const r1 = await openRemoteRepo({ url }, { cacheDir });
    assert.equal(r1.commit, head, 'the remote default branch');
    assert.deepEqual(
      (await listTree(r1.repo, r1.commit, { add: '/src', to: '/app' })).map((f) => f.path),
      ['a.txt'],
    );
    const expected = await upstream.git('show', 'HEAD:src/a.txt');
    assert.equal((await r1.repo.readBlob((await listTree(r1.repo, r1.commit, { add: '/', to: '/' }))[0]?.oid ?? '')).toString(), expected);
    await r1.repo.close();

    const byBranch = await openRemoteRepo({ url, branch: 'feature' }, { cacheDir });
    assert.equal(byBranch.commit, first);
    await byBranch.repo.close();
    const byTag = await openRemoteRepo({ url, tag: 'v1' }, { cacheDir });
    assert.equal(byTag.commit, tagged);
    await byTag.repo.close();
    const byCommit = await openRemoteRepo({ url, commit: first }, { cacheDir });
    assert.equal(byCommit.commit, first);
    await byCommit.repo.close();

    // A new upstream commit is seen on the next use (fetch), and offline use keeps the cached state.
    await upstream.write('src/b.txt', 'b');
    const third = await upstream.commit('third');
    await push();
    const offline = await openRemoteRepo({ url }, { cacheDir, offline: true });
    assert.equal(offline.commit, head);
    await offline.repo.close();
    const r2 = await openRemoteRepo({ url }, { cacheDir });
    assert.equal(r2.commit, third);
    await r2.repo.close();

    // Force-pushed branches move; a fixed commit that still exists locally needs no network.
    await upstream.git('reset', '-q', '--hard', first);
    const rewritten = await upstream.commit('rewritten');
    await push();
    const r3 = await openRemoteRepo({ url, branch: 'main' }, { cacheDir });
    assert.equal(r3.commit, rewritten);
    await r3.repo.close();

    const entries = await readdir(cacheDir);
    assert.deepEqual(entries, [remoteCachePath(cacheDir, url).slice(cacheDir.length + 1)], 'one bare clone, no leftover lock or temp dir');
    await access(join(cacheDir, entries[0] ?? '', 'HEAD'));

    await assert.rejects(
      openRemoteRepo({ url, branch: 'nope' }, { cacheDir }),
      (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_NOT_FOUND' && /branch "nope"/.test(e.message),
    );
    await assert.rejects(
      openRemoteRepo({ url, commit: 'f'.repeat(40) }, { cacheDir }),
      (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_NOT_FOUND',
    );
  });
}

test('concurrent uses of one URL share one clone under the lock', async () => {
  const cacheDir = join(upstream.tmp, 'cache-concurrent');
  const results = await Promise.all([1, 2, 3, 4].map(() => openRemoteRepo({ url: daemonUrl, branch: 'feature' }, { cacheDir })));
  for (const r of results) {
    assert.equal(r.commit, first);
    await r.repo.close();
  }
  assert.equal((await readdir(cacheDir)).length, 1);
});

test('remote failures are TSB_GIT_REMOTE with the password redacted', async () => {
  const cacheDir = join(upstream.tmp, 'cache-fail');
  const url = 'http://user:s3cret@127.0.0.1:9/nothing.git';
  await assert.rejects(
    openRemoteRepo({ url }, { cacheDir }),
    (e: unknown) =>
      e instanceof TsbuildError && e.code === 'TSB_GIT_REMOTE' && !e.message.includes('s3cret') && !!e.hint && !JSON.stringify(e.details).includes('s3cret'),
  );
  assert.equal(redactUrl(url), 'http://***@127.0.0.1:9/nothing.git');
  assert.deepEqual(await readdir(cacheDir), [], 'a failed clone leaves nothing behind');
  await assert.rejects(
    openRemoteRepo({ url: bare.dir }, { cacheDir: join(upstream.tmp, 'cache-offline'), offline: true }),
    (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_REMOTE',
  );
  await assert.rejects(
    openRemoteRepo({ url: bare.dir, branch: 'a', tag: 'b' }, { cacheDir }),
    (e: unknown) => e instanceof TsbuildError && /only one of/.test(e.message),
  );
});
