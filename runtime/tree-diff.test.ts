import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LayoutStore } from '../lib/content/index.js';
import { writeLayerFromUpperDir } from '../lib/layer/index.js';
import { tempDir } from '../test/support/tree-fixtures.js';
import { diffTrees } from './tree-diff.js';

// Node lists a name that is not UTF-8 with U+FFFD in it: next to a real "\uFFFD" both walkers would
// pack that file twice (duplicate paths in a layer) and lose the other's content without a word.
test('a file name that is not UTF-8 is refused by both tree walkers, also next to a real U+FFFD name', async () => {
  const t = tempDir('utf8-names');
  try {
    const root = join(t.path, 'root');
    mkdirSync(join(root, 'sub'), { recursive: true });
    writeFileSync(Buffer.from(`${join(root, 'sub')}/\xff`, 'latin1'), 'latin1 name');
    writeFileSync(join(root, 'sub', '\uFFFD'), 'real U+FFFD');
    const store = new LayoutStore(join(t.path, 'store'));
    await store.init();
    const refused = { code: 'TSB_LAYER_INVALID', message: /file name is not valid UTF-8: "sub\/\uFFFD" \(bytes ff\)/ };
    await assert.rejects(writeLayerFromUpperDir(root, store), refused);
    assert.throws(() => diffTrees({ parent: undefined, work: root, skip: new Set(), dirInodes: new Map(), copiedAtNs: 0n }), refused);
    // U+FFFD alone is a valid name and packs once.
    const only = join(t.path, 'only');
    mkdirSync(only);
    writeFileSync(join(only, '\uFFFD'), 'x');
    assert.equal((await writeLayerFromUpperDir(only, store)).entries, 1);
    assert.equal(diffTrees({ parent: undefined, work: only, skip: new Set(), dirInodes: new Map(), copiedAtNs: 0n }).length, 1);
  } finally {
    t.cleanup();
  }
});
