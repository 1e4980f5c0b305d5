import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadedModules } from '../../test/support/loaded-modules.js';

test('image pull and push load neither lib/image (archives, recompression) nor lib/layer (tar, compression, workers)', () => {
  const main = new URL('../main.js', import.meta.url).href;
  for (const sub of ['pull', 'push']) {
    const urls = loadedModules(main, ['image', sub, '--help']);
    assert.ok(
      urls.some((u) => u.endsWith('/cli/commands/image.js')),
      `the image command was loaded: ${urls.filter((u) => u.includes('/cli/')).join(' ')}`,
    );
    assert.deepEqual(
      urls.filter((u) => u.includes('/lib/image/') || u.includes('/lib/layer/')).map((u) => u.replace(/.*\/lib\//, 'lib/')),
      [],
      sub,
    );
  }
});
