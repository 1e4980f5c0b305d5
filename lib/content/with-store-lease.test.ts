import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homePaths } from '../home.js';
import { TsbuildError } from '../errors.js';
import { oldestLiveLease } from './leases.js';
import { withStoreLease } from './with-store-lease.js';

test('withStoreLease holds a lease while its work runs and releases it when the work fails', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-store-lease-'));
  try {
    const home = homePaths(dir);
    const leases = join(home.locks, 'leases');
    const boom = new Error('boom');
    await assert.rejects(
      withStoreLease(home, async (store) => {
        assert.equal(store.root, home.store);
        assert.equal((await readdir(leases)).length, 1);
        assert.notEqual(await oldestLiveLease(leases), undefined);
        throw boom;
      }),
      (err) => err === boom,
    );
    assert.deepEqual(await readdir(leases), []);
    assert.equal(await withStoreLease(home, async () => 'done'), 'done');
    assert.deepEqual(await readdir(leases), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('withStoreLease leaves no lease behind when the store cannot be opened', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-store-lease-'));
  try {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'store'), 'not a directory');
    const home = homePaths(dir);
    let ran = false;
    await assert.rejects(
      withStoreLease(home, async () => {
        ran = true;
      }),
      (err: unknown) => err instanceof TsbuildError && err.code === 'TSB_HOME_UNUSABLE',
    );
    assert.equal(ran, false);
    assert.deepEqual(await readdir(join(home.locks, 'leases')), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
