import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sha256, type Digest } from '../digest.js';
import { BlobInfoCache } from './blob-info-cache.js';
import { clockTick } from '../../test/support/wait.js';

const exec = promisify(execFile);
const d = (n: number): Digest => sha256(`blob ${n}`);
const REG = 'registry.example:5000';

describe('BlobInfoCache', () => {
  const dirs: string[] = [];
  const dir = async (): Promise<string> => {
    const p = await mkdtemp(join(tmpdir(), 'tsbuild-blobinfo-'));
    dirs.push(p);
    return p;
  };
  after(async () => {
    for (const p of dirs) await rm(p, { recursive: true, force: true });
  });

  test('a sighting saved by one process is a mount candidate for the next, newest first, same registry only', async () => {
    const file = join(await dir(), 'cache.json');
    const a = new BlobInfoCache(file);
    a.record(d(1), { registry: REG, repository: 'old/repo' });
    await clockTick();
    a.record(d(1), { registry: REG, repository: 'new/repo' });
    a.record(d(1), { registry: 'other.example', repository: 'x/y' });
    await a.save();
    const b = new BlobInfoCache(file);
    assert.deepEqual(await b.candidates(d(1), REG), ['new/repo', 'old/repo']);
    assert.deepEqual(await b.candidates(d(1), 'other.example'), ['x/y']);
    assert.deepEqual(await b.candidates(d(2), REG), []);
  });

  test('concurrent savers (several processes) keep every sighting', async () => {
    const file = join(await dir(), 'cache.json');
    const moduleUrl = new URL('./blob-info-cache.js', import.meta.url).href;
    const script = `
      const { BlobInfoCache } = await import(${JSON.stringify(moduleUrl)});
      const [file, who] = process.argv.slice(1);
      const { createHash } = await import('node:crypto');
      for (let i = 0; i < 20; i++) {
        const c = new BlobInfoCache(file);
        const digest = 'sha256:' + createHash('sha256').update(who + ' ' + i).digest('hex');
        c.record(digest, { registry: ${JSON.stringify(REG)}, repository: 'repo/' + who });
        await c.save();
      }`;
    await Promise.all(['p1', 'p2', 'p3'].map((who) => exec(process.execPath, ['--input-type=module', '-e', script, file, who])));
    const parsed = JSON.parse(await readFile(file, 'utf8')) as { blobs: Record<string, unknown> };
    assert.equal(Object.keys(parsed.blobs).length, 60);
    const c = new BlobInfoCache(file);
    assert.deepEqual(await c.candidates(sha256('p2 7'), REG), ['repo/p2']);
  });

  test('a damaged file counts as empty and is replaced by the next save', async () => {
    const file = join(await dir(), 'cache.json');
    await writeFile(file, '{"v":"tsbuild.blob-info-cache/1","blobs":{"sha256:');
    const c = new BlobInfoCache(file);
    assert.deepEqual(await c.candidates(d(1), REG), []);
    c.record(d(1), { registry: REG, repository: 'r' });
    await c.save();
    assert.deepEqual(await new BlobInfoCache(file).candidates(d(1), REG), ['r']);
  });

  test('forget removes a sighting, but not one another process made later', async () => {
    const file = join(await dir(), 'cache.json');
    const a = new BlobInfoCache(file);
    a.record(d(1), { registry: REG, repository: 'gone' });
    a.record(d(2), { registry: REG, repository: 'back' });
    await a.save();
    const b = new BlobInfoCache(file);
    assert.deepEqual(await b.candidates(d(1), REG), ['gone']);
    b.forget(d(1), { registry: REG, repository: 'gone' });
    b.forget(d(2), { registry: REG, repository: 'back' });
    await clockTick();
    const c = new BlobInfoCache(file);
    c.record(d(2), { registry: REG, repository: 'back' }); // seen again after b's forget
    await c.save();
    await b.save();
    const e = new BlobInfoCache(file);
    assert.deepEqual(await e.candidates(d(1), REG), []);
    assert.deepEqual(await e.candidates(d(2), REG), ['back']);
  });

  test('old entries are pruned to the configured bounds', async () => {
    const file = join(await dir(), 'cache.json');
    const c = new BlobInfoCache(file, { maxBlobs: 3, maxRepositories: 2 });
    for (let i = 0; i < 5; i++) {
      c.record(d(i), { registry: REG, repository: 'r' });
      await clockTick();
    }
    for (const repo of ['a', 'b', 'c']) {
      c.record(d(4), { registry: REG, repository: repo });
      await clockTick();
    }
    await c.save();
    const e = new BlobInfoCache(file);
    assert.deepEqual(await e.candidates(d(0), REG), []);
    assert.deepEqual(await e.candidates(d(2), REG), ['r']);
    assert.deepEqual(await e.candidates(d(4), REG), ['c', 'b']);
  });

  test('a fresh sighting already in the file is not written again', async () => {
    const file = join(await dir(), 'cache.json');
    const a = new BlobInfoCache(file);
    a.record(d(1), { registry: REG, repository: 'r' });
    await a.save();
    const before = await stat(file);
    const b = new BlobInfoCache(file);
    assert.deepEqual(await b.candidates(d(1), REG), ['r']);
    b.record(d(1), { registry: REG, repository: 'r' });
    await b.save();
    assert.equal((await stat(file)).ino, before.ino, 'the file was not replaced');
    b.record(d(1), { registry: REG, repository: 'other' });
    await b.save();
    assert.notEqual((await stat(file)).ino, before.ino);
  });

  test('without a file it remembers for the process only', async () => {
    const c = new BlobInfoCache(undefined);
    c.record(d(1), { registry: REG, repository: 'r' });
    await c.save();
    assert.deepEqual(await c.candidates(d(1), REG), ['r']);
  });
});
