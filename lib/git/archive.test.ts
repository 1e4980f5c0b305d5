import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Readable } from 'node:stream';
import { TsbuildError } from '../errors.js';
import { STREAM_BLOB_THRESHOLD } from './repo.js';
import { archiveEntries, changedPaths, patchSize, type ArchiveEntry } from './archive.js';
import type { GitMapping } from './mapping.js';
import { withRepo } from '../../test/support/test-repo.js';

async function collect(it: AsyncIterable<ArchiveEntry>): Promise<ArchiveEntry[]> {
  const out: ArchiveEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

async function content(e: ArchiveEntry): Promise<string> {
  assert.ok(e.data, e.path);
  const d = await e.data();
  if (Buffer.isBuffer(d)) return d.toString('utf8');
  const chunks: Buffer[] = [];
  for await (const c of d as Readable) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const brief = (e: ArchiveEntry): string => `${e.type} ${e.path} ${e.mode.toString(8)}${e.linkTarget ? ` -> ${e.linkTarget}` : ''}`;

test('archiveEntries: sorted files, symlinks and synthesised directories under `to`, with commit time and owner', async () => {
  await withRepo(async (t, repo) => {
    await t.write('src/app/main.js', 'main');
    await t.write('src/app/bin/run', '#!/bin/sh\n', 0o755);
    await t.write('src/app-x', 'dash sorts before slash');
    await t.write('src/secret/key', 'k');
    await t.symlink('src/current', 'app');
    await t.write('other/x', 'x');
    const c = await t.commit();
    const mapping: GitMapping = { add: '/src', to: '/srv/www/', excludePaths: ['secret'], owner: '1000', group: 'www' };
    const entries = await collect(archiveEntries(repo, c, mapping));
    assert.deepEqual(entries.map(brief), [
      'dir /srv/www 755',
      'dir /srv/www/app 755',
      'file /srv/www/app-x 644',
      'dir /srv/www/app/bin 755',
      'file /srv/www/app/bin/run 755',
      'file /srv/www/app/main.js 644',
      'symlink /srv/www/current 777 -> app',
    ]);
    const sorted = [...entries.map((e) => e.path)].sort();
    assert.deepEqual(
      entries.map((e) => e.path),
      sorted,
    );
    for (const e of entries) {
      assert.equal(e.mtime, 1_700_000_000);
      assert.equal(e.uid, 1000);
      assert.equal(e.gname, 'www');
      assert.equal(e.gid, undefined);
    }
    const main = entries.find((e) => e.path === '/srv/www/app/main.js');
    assert.ok(main);
    assert.equal(main.size, 4);
    assert.equal(await content(main), 'main');
    assert.equal(entries.find((e) => e.type === 'symlink')?.data, undefined);
  });
});

test('archiveEntries: a single-file add is renamed to `to`; `to: /` puts files at the root; defaults to root ownership', async () => {
  await withRepo(async (t, repo) => {
    await t.write('conf/app.yaml', 'a: 1');
    await t.write('top.txt', 'top');
    const c = await t.commit();
    const single = await collect(archiveEntries(repo, c, { add: '/conf/app.yaml', to: '/etc/app/config.yaml' }));
    assert.deepEqual(single.map(brief), ['file /etc/app/config.yaml 644']);
    assert.equal(await content(single[0] as ArchiveEntry), 'a: 1');
    assert.equal(single[0]?.uid, 0);
    assert.equal(single[0]?.gid, 0);
    const root = await collect(archiveEntries(repo, c, { add: '/', to: '/' }));
    assert.deepEqual(root.map(brief), ['dir /conf 755', 'file /conf/app.yaml 644', 'file /top.txt 644']);
    await assert.rejects(
      collect(archiveEntries(repo, c, { add: '/missing', to: '/x' })),
      (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_NOT_FOUND' && /matches no files/.test(e.message),
    );
    const named = await collect(archiveEntries(repo, c, { add: '/conf', to: '/c', owner: 'app' }));
    assert.equal(named[0]?.uname, 'app');
    assert.equal(named[0]?.uid, undefined);
    assert.equal(named[0]?.gid, undefined, "the group is the owner's primary group, resolved in the image");
  });
});

test('archiveEntries streams large files and reads nothing ahead when asked not to', async () => {
  await withRepo(async (t, repo) => {
    const big = 'x'.repeat(STREAM_BLOB_THRESHOLD + 10);
    await t.write('big', big);
    await t.write('small', 's');
    const c = await t.commit();
    const entries = await collect(archiveEntries(repo, c, { add: '/', to: '/d' }, { readAhead: 0 }));
    const bigEntry = entries.find((e) => e.path === '/d/big') as ArchiveEntry;
    const stream = await bigEntry.data?.();
    assert.ok(stream && !Buffer.isBuffer(stream), 'a stream for a large blob');
    stream.destroy(); // an abandoned stream ends its git process
    assert.equal((await content(bigEntry)).length, big.length);
    assert.equal(await content(entries.find((e) => e.path === '/d/small') as ArchiveEntry), 's');
  });
});

test('changedPaths: additions, modifications, deletions, renames, mode and type changes, filtered by the mapping', async () => {
  await withRepo(async (t, repo) => {
    await t.write('app/keep.txt', 'keep');
    await t.write('app/mod.txt', 'v1');
    await t.write('app/del.txt', 'del');
    await t.write('app/old-name.txt', 'renamed');
    await t.write('app/script.sh', 'echo', 0o644);
    await t.symlink('app/link', 'keep.txt');
    await t.write('app/becomes-dir', 'file');
    await t.write('app/ignored.log', 'v1');
    await t.write('outside/x', 'v1');
    const c1 = await t.commit();
    await t.write('app/mod.txt', 'v2');
    await t.remove('app/del.txt');
    await t.remove('app/old-name.txt');
    await t.write('app/new-name.txt', 'renamed');
    await t.write('app/script.sh', 'echo', 0o755);
    await t.symlink('app/link', 'mod.txt');
    await t.remove('app/becomes-dir');
    await t.write('app/becomes-dir/inner', 'inner');
    await t.write('app/brand/new/deep.txt', 'deep');
    await t.write('app/ignored.log', 'v2');
    await t.write('outside/x', 'v2');
    const c2 = await t.commit();
    const mapping: GitMapping = { add: '/app', to: '/opt/app', excludePaths: ['*.log'] };
    const { changed, removed } = await changedPaths(repo, c1, c2, mapping);
    assert.deepEqual(changed.map(brief), [
      'dir /opt/app/becomes-dir 755',
      'file /opt/app/becomes-dir/inner 644',
      'dir /opt/app/brand 755',
      'dir /opt/app/brand/new 755',
      'file /opt/app/brand/new/deep.txt 644',
      'symlink /opt/app/link 777 -> mod.txt',
      'file /opt/app/mod.txt 644',
      'file /opt/app/new-name.txt 644',
      'file /opt/app/script.sh 755',
    ]);
    assert.deepEqual(removed, ['/opt/app/becomes-dir', '/opt/app/del.txt', '/opt/app/old-name.txt']);
    for (const e of changed) assert.equal(e.mtime, 1_700_000_060, 'mtime is the target commit time');
    assert.equal(await content(changed.find((e) => e.path === '/opt/app/mod.txt') as ArchiveEntry), 'v2');
    assert.equal(changed.find((e) => e.path === '/opt/app/mod.txt')?.size, 2);

    const size = await patchSize(repo, c1, c2, mapping);
    const expected =
      changed.filter((e) => e.type !== 'dir').reduce((n, e) => n + (e.type === 'symlink' ? 'mod.txt'.length : e.size) + Buffer.byteLength(e.path), 0) +
      removed.reduce((n, p) => n + p.length, 0);
    assert.equal(size, expected);
    assert.equal(await patchSize(repo, c2, c2, mapping), 0);

    const none = await changedPaths(repo, c1, c2, { add: '/app', to: '/a', includePaths: ['keep.txt'] });
    assert.deepEqual(none, { changed: [], removed: [] }, 'an unrelated commit changes nothing');
  });
});

test('changedPaths of a single-file add, a newly created add directory, and reverse direction', async () => {
  await withRepo(async (t, repo) => {
    await t.write('conf.yaml', 'v1');
    const c1 = await t.commit();
    await t.write('conf.yaml', 'v2');
    await t.write('pkg/a/b.txt', 'b');
    const c2 = await t.commit();
    const single = await changedPaths(repo, c1, c2, { add: '/conf.yaml', to: '/etc/conf.yml' });
    assert.deepEqual(single.changed.map(brief), ['file /etc/conf.yml 644']);
    const created = await changedPaths(repo, c1, c2, { add: '/pkg', to: '/p' });
    assert.deepEqual(created.changed.map(brief), ['dir /p 755', 'dir /p/a 755', 'file /p/a/b.txt 644']);
    const back = await changedPaths(repo, c2, c1, { add: '/', to: '/r' });
    assert.deepEqual(back.removed, ['/r/pkg/a/b.txt']);
    assert.deepEqual(back.changed.map(brief), ['file /r/conf.yaml 644']);
    await assert.rejects(
      changedPaths(repo, '0'.repeat(40), c2, { add: '/', to: '/r' }),
      (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_NOT_FOUND',
    );
  });
});
