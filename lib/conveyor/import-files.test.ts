import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { importEntries, type ImportSelection } from './import-files.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-import-files-'));
after(() => rmSync(root, { recursive: true, force: true }));
for (const f of [
  'w/t/front/node_modules/pkg/i.js',
  'w/t/front/dist/a.js',
  'w/t/front/dist/a.js.map',
  'w/t/drop/x',
  'w/t/keep.txt',
  'w/t/only-mods/node_modules/m.js',
]) {
  mkdirSync(join(root, f, '..'), { recursive: true });
  writeFileSync(join(root, f), f);
}

async function paths(sel: Partial<ImportSelection>): Promise<string[]> {
  const out: string[] = [];
  for await (const e of importEntries(root, { add: '/w/t', to: '/dst', includePaths: [], excludePaths: [], ...sel }, {})) out.push(e.entry.path);
  return out;
}

test('excludePaths below a matched directory are honoured (front/node_modules, not only top-level names)', async () => {
  const got = await paths({ excludePaths: ['front/node_modules', 'drop', '**/*.map', 'only-mods/node_modules'] });
  assert.deepEqual(got, ['dst', 'dst/front', 'dst/front/dist', 'dst/front/dist/a.js', 'dst/keep.txt', 'dst/only-mods']);
});

test('includePaths take a matched directory whole; a directory only on the way is emitted with what it holds', async () => {
  assert.deepEqual(await paths({ includePaths: ['front/dist'] }), ['dst', 'dst/front', 'dst/front/dist', 'dst/front/dist/a.js', 'dst/front/dist/a.js.map']);
  assert.deepEqual(await paths({ includePaths: ['front'], excludePaths: ['front/node_modules', 'front/dist'] }), ['dst', 'dst/front']);
  assert.deepEqual(await paths({ includePaths: ['**/*.js'], excludePaths: ['front'] }), [
    'dst',
    'dst/only-mods',
    'dst/only-mods/node_modules',
    'dst/only-mods/node_modules/m.js',
  ]);
});
