// A home that cannot hold the store is the user's environment, not a bug: a clear error naming what is in the way, exit 4.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { homePaths } from '../home.js';
import { TsbuildError, exitCodeFor } from '../errors.js';
import { openStore } from './open-store.js';

test('a home whose store, blobs or temp dir is a file fails with TSB_HOME_UNUSABLE naming that file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-open-store-'));
  try {
    for (const inTheWay of ['store', join('store', 'blobs'), 'tmp']) {
      const root = join(dir, inTheWay.replace(/\W/g, '-'));
      await mkdir(join(root, inTheWay, '..'), { recursive: true });
      await writeFile(join(root, inTheWay), 'not a directory');
      await assert.rejects(openStore(homePaths(root)), (err: unknown) => {
        assert.ok(err instanceof TsbuildError, String(err));
        assert.equal(err.code, 'TSB_HOME_UNUSABLE');
        assert.ok(err.message.includes(`${join(root, inTheWay)} is not a directory`), err.message);
        assert.equal(exitCodeFor(err), 4);
        return true;
      });
    }
    // A usable home opens (twice: the second time through the existing layout).
    const ok = homePaths(join(dir, 'ok'));
    await openStore(ok);
    assert.equal((await openStore(ok)).root, ok.store);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
