import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { access, readdir } from 'node:fs/promises';
import { createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TsbuildError } from '../errors.js';
import { listTree } from './mapping.js';
import { openRemoteRepo, redactUrl, remoteCachePath } from './remote.js';
import { TestRepo, testGitEnv } from '../../test/support/test-repo.js';

let upstream: TestRepo; // a work tree we commit in and push from
let bare: TestRepo; // the "remote": a bare repository
let daemon: ChildProcess | undefined;
let daemonUrl = '';
let first = '';
let tagged = '';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

async function waitForPort(port: number): Promise<void> {
  // Up to two minutes: only a daemon that never listens fails, however loaded the machine.
  for (let i = 0; i < 2400; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = createConnection({ port, host: '127.0.0.1' }, () => {
        s.end();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(50);
  }
  throw new Error(`git daemon did not listen on ${port}`);
}

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
  const port = await freePort();
  daemon = spawn('git', ['daemon', '--export-all', `--base-path=${bare.tmp}`, `--port=${port}`, '--listen=127.0.0.1', '--reuseaddr', bare.tmp], {
    stdio: 'ignore',
    env: testGitEnv(0),
  });
  await waitForPort(port);
  daemonUrl = `git://127.0.0.1:${port}/repo.git`;
});

after(async () => {
  if (daemon && daemon.exitCode === null) {
    const exited = new Promise((resolve) => daemon?.once('exit', resolve));
    daemon.kill();
    await exited;
  }
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
