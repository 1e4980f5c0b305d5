import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveWorkdir } from './resolve-workdir.js';

function tree(): { root: string; done(): void } {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-wd-'));
  mkdirSync(join(root, 'srv/app'), { recursive: true });
  mkdirSync(join(root, 'proc'));
  symlinkSync('/srv/app', join(root, 'abs'));
  symlinkSync('srv/app', join(root, 'rel'));
  symlinkSync('/proc/self/fd/3', join(root, 'wd'));
  symlinkSync('../../../../etc', join(root, 'srv/up'));
  symlinkSync('/dev/fd/4', join(root, 'devfd'));
  symlinkSync('/proc/1/root', join(root, 'srv/root1'));
  symlinkSync('loop', join(root, 'loop'));
  symlinkSync('../proc/self/cwd', join(root, 'srv/cwd'));
  return { root, done: () => rmSync(root, { recursive: true, force: true }) };
}

test('symlinks are followed inside the image root and the result has none', () => {
  const t = tree();
  try {
    assert.equal(resolveWorkdir(t.root, '/abs'), '/srv/app');
    assert.equal(resolveWorkdir(t.root, 'rel/'), '/srv/app');
    assert.equal(resolveWorkdir(t.root, '/abs/../app/./x/y'), '/srv/app/x/y');
    assert.equal(resolveWorkdir(t.root, '/../../srv'), '/srv');
    assert.equal(resolveWorkdir(t.root, '/'), '/');
    assert.equal(resolveWorkdir(t.root, '/proc'), '/proc');
  } finally {
    t.done();
  }
});

test('a working directory under /proc or /dev, or through a symlink leaving the root, is refused naming the image', () => {
  const t = tree();
  try {
    for (const n of [3, 7, 20]) {
      assert.throws(
        () => resolveWorkdir(t.root, `/proc/self/fd/${n}`, 'image "app"'),
        (e: Error & { code?: string }) => e.code === 'TSB_LAYER_UNSAFE' && /image "app": WorkingDir "\/proc\/self\/fd/.test(e.message),
      );
    }
    for (const cwd of [
      '/proc/1/root',
      '/proc/self/cwd',
      '/proc/1/cwd/x',
      '/wd',
      '/wd/sub',
      '/devfd',
      '/dev/fd/5',
      '/srv/root1',
      '/srv/cwd',
      '/srv/up',
      '/srv/up/x',
      '/loop',
    ]) {
      assert.throws(
        () => resolveWorkdir(t.root, cwd),
        (e: Error & { code?: string }) => e.code === 'TSB_LAYER_UNSAFE',
        cwd,
      );
    }
  } finally {
    t.done();
  }
});
