import { test } from 'node:test';
import assert from 'node:assert/strict';
import { autoExclude } from './git-overlaps.js';
import type { GitMappingSpec } from '../config/index.js';

const m = (add: string, to: string, includePaths: string[] = [], excludePaths: string[] = []): GitMappingSpec => ({
  add,
  to,
  includePaths,
  excludePaths,
  stageDependencies: {},
  position: { file: 'werf.yaml', line: 1 },
});

test('a mapping nested in another is excluded from the outer one', () => {
  const [outer, inner] = autoExclude([m('/', '/app'), m('/frontend', '/app/web')], 'x');
  assert.deepEqual(outer!.excludePaths, ['web']);
  assert.deepEqual(inner!.excludePaths, []);
});

test('includePaths of the inner mapping become excludes of the outer one', () => {
  const [outer] = autoExclude([m('/', '/app', [], ['docs']), m('/conf', '/app/etc', ['*.yaml', 'certs'])], 'x');
  assert.deepEqual(outer!.excludePaths, ['docs', 'etc/*.yaml', 'etc/certs']);
});

test('two mappings owning the same `to` without includePaths conflict; the same include twice conflicts', () => {
  assert.throws(() => autoExclude([m('/a', '/app'), m('/b', '/app')], 'x'), /both write everything to \/app/);
  assert.throws(() => autoExclude([m('/a', '/app', ['x']), m('/b', '/app', ['x'])], 'x'), /both include "x"/);
  const [a, b] = autoExclude([m('/a', '/app'), m('/b', '/app', ['cfg'])], 'x');
  assert.deepEqual(a!.excludePaths, ['cfg']);
  assert.deepEqual(b!.excludePaths, []);
});

test('unrelated targets are left alone', () => {
  const out = autoExclude([m('/a', '/srv/a'), m('/b', '/srv/b')], 'x');
  assert.deepEqual(
    out.map((o) => o.excludePaths),
    [[], []],
  );
});
