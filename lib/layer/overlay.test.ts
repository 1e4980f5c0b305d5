import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { layoutStore } from '../content/index.js';
import { writeLayerFromUpperDir } from './diff-layer.js';
import { unpackLayer } from './unpack.js';
import { fsx } from './fsx.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

function mountOverlay(lower: string[], upper: string, work: string, merged: string): void {
  execFileSync('mount', [
    '-t',
    'overlay',
    'overlay',
    '-o',
    `lowerdir=${lower.join(':')},upperdir=${upper},workdir=${work},redirect_dir=off,metacopy=off`,
    merged,
  ]);
}

function umount(path: string): void {
  try {
    execFileSync('umount', [path]);
  } catch {
    // not mounted
  }
}

test('an overlay upper dir becomes a layer with .wh. whiteouts and opaque markers, and unpacks back', async () => {
  const tmp = tempDir('overlay');
  const mounts: string[] = [];
  try {
    const d = (n: string): string => {
      const p = join(tmp.path, n);
      mkdirSync(p, { recursive: true });
      return p;
    };
    const lower = d('lower');
    mkdirSync(join(lower, 'etc'));
    writeFileSync(join(lower, 'etc/keep'), 'keep');
    writeFileSync(join(lower, 'etc/remove-me'), 'bye');
    mkdirSync(join(lower, 'app/old-sub'), { recursive: true });
    writeFileSync(join(lower, 'app/old-file'), 'old');
    writeFileSync(join(lower, 'app/old-sub/x'), 'x');
    mkdirSync(join(lower, 'proc'));
    const upper = d('upper');
    const merged = d('merged');
    mountOverlay([lower], upper, d('work'), merged);
    mounts.push(merged);
    // A RUN step: delete a file, replace a directory, add a file, touch a mount-point placeholder.
    rmSync(join(merged, 'etc/remove-me'));
    rmSync(join(merged, 'app'), { recursive: true });
    mkdirSync(join(merged, 'app'));
    writeFileSync(join(merged, 'app/new-file'), 'new');
    writeFileSync(join(merged, 'etc/added'), 'added');
    writeFileSync(join(merged, 'proc/junk'), 'sandbox leftovers');
    umount(merged);
    mounts.pop();

    assert.ok(lstatSync(join(upper, 'etc/remove-me')).isCharacterDevice());
    assert.equal(fsx().lgetxattr(join(upper, 'app'), 'trusted.overlay.opaque')?.toString(), 'y');

    const store = layoutStore(join(tmp.path, 'store'));
    const layer = await writeLayerFromUpperDir(upper, store, { skip: ['/proc'] });
    const names = execFileSync('tar', ['-tzf', store.blobPath(layer.descriptor.digest)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.deepEqual(names, ['app/', 'app/.wh..wh..opq', 'app/new-file', 'etc/', 'etc/.wh.remove-me', 'etc/added']);
    assert.equal(layer.whiteouts, 2);
    const verbose = execFileSync('tar', ['--xattrs', '-tvvzf', store.blobPath(layer.descriptor.digest)], { encoding: 'utf8' });
    assert.doesNotMatch(verbose, /overlay/);

    // Unpacked as a lowerdir: whiteouts are 0/0 devices, the opaque dir carries the xattr, and
    // stacking it on the original lower reproduces the merged view.
    const layerDir = d('layer1');
    await unpackLayer(createReadStream(store.blobPath(layer.descriptor.digest)), layerDir, {
      mode: 'overlay',
      compression: 'gzip',
      expected: { digest: layer.descriptor.digest, diffId: layer.diffId },
    });
    const wh = lstatSync(join(layerDir, 'etc/remove-me'));
    assert.ok(wh.isCharacterDevice() && wh.rdev === 0);
    assert.equal(fsx().lgetxattr(join(layerDir, 'app'), 'trusted.overlay.opaque')?.toString(), 'y');
    assert.equal(existsSync(join(layerDir, 'app/.wh..wh..opq')), false);
    const view = d('view');
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${layerDir}:${lower}`, view]);
    mounts.push(view);
    assert.deepEqual(readdirSync(join(view, 'app')).sort(), ['new-file']);
    assert.deepEqual(readdirSync(join(view, 'etc')).sort(), ['added', 'keep']);
    umount(view);
    mounts.pop();

    // Applied onto a copy of the lower tree: the same result, flattened.
    const flat = d('flat');
    execFileSync('cp', ['-a', `${lower}/.`, flat]);
    await unpackLayer(createReadStream(store.blobPath(layer.descriptor.digest)), flat, { mode: 'apply', compression: 'gzip' });
    assert.deepEqual(readdirSync(join(flat, 'app')).sort(), ['new-file']);
    assert.deepEqual(readdirSync(join(flat, 'etc')).sort(), ['added', 'keep']);
    assert.equal(readFileSync(join(flat, 'etc/keep'), 'utf8'), 'keep');
  } finally {
    for (const m of mounts.reverse()) umount(m);
    tmp.cleanup();
  }
});

test('rootless userxattr markers (user.overlay.opaque) are read, and written with rootless: true', async () => {
  const tmp = tempDir('userxattr');
  try {
    const upper = join(tmp.path, 'upper');
    mkdirSync(join(upper, 'opaque-dir'), { recursive: true });
    writeFileSync(join(upper, 'opaque-dir/f'), 'f');
    fsx().lsetxattr(join(upper, 'opaque-dir'), 'user.overlay.opaque', Buffer.from('y'));
    fsx().mknod(join(upper, 'gone'), 0o20000, 0, 0);
    // An xattr whiteout (kernel ≥ 6.7 style): an empty file marked overlay.whiteout.
    writeFileSync(join(upper, 'gone-too'), '');
    fsx().lsetxattr(join(upper, 'gone-too'), 'user.overlay.whiteout', Buffer.alloc(0));
    const store = layoutStore(join(tmp.path, 'store'));
    const layer = await writeLayerFromUpperDir(upper, store);
    const names = execFileSync('tar', ['-tzf', store.blobPath(layer.descriptor.digest)], { encoding: 'utf8' })
      .trim()
      .split('\n');
    assert.deepEqual(names, ['.wh.gone', '.wh.gone-too', 'opaque-dir/', 'opaque-dir/.wh..wh..opq', 'opaque-dir/f']);
    const out = join(tmp.path, 'out');
    mkdirSync(out);
    await unpackLayer(createReadStream(store.blobPath(layer.descriptor.digest)), out, { mode: 'overlay', compression: 'gzip', rootless: true });
    assert.equal(fsx().lgetxattr(join(out, 'opaque-dir'), 'user.overlay.opaque')?.toString(), 'y');
    assert.equal(fsx().lgetxattr(join(out, 'opaque-dir'), 'trusted.overlay.opaque'), undefined);
  } finally {
    tmp.cleanup();
  }
});

test('an upper dir with a redirect xattr is refused with a hint', async () => {
  const tmp = tempDir('redirect');
  try {
    const upper = join(tmp.path, 'upper');
    mkdirSync(join(upper, 'moved'), { recursive: true });
    fsx().lsetxattr(join(upper, 'moved'), 'trusted.overlay.redirect', Buffer.from('/orig'));
    const store = layoutStore(join(tmp.path, 'store'));
    await assert.rejects(writeLayerFromUpperDir(upper, store), (err: Error & { hint?: string }) => {
      assert.match(err.message, /trusted\.overlay\.redirect/);
      assert.match(err.hint ?? '', /redirect_dir=off/);
      return true;
    });
  } finally {
    tmp.cleanup();
  }
});
