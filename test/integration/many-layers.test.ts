// Images with more layers than one overlay mount can stack (reliability catalog F4): the mount
// options are limited to a page, and a longer string used to be cut short by the kernel — a stage
// then saw a different tree (bottom layers missing, a directory of tsbuild's short links stacked as
// a layer). Up to the limit every layer shows; past it the overlay snapshotter refuses with the
// limit and the way out, and that way out (the native snapshotter) shows every layer.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { writeLayerFromEntries } from '../../lib/layer/index.js';
import type { LayerSource } from '../../lib/sandbox/index.js';
import { NativeSnapshotter } from '../../runtime/native-snapshotter.js';
import { OverlaySnapshotter } from '../../runtime/overlay-snapshotter.js';
import { tempDirs } from '../support/cli.js';

describe('an image with more layers than an overlay mount can stack', () => {
  const temps = tempDirs();
  let work: string;
  let store: LayoutStore;
  const layers: LayerSource[] = [];

  before(async () => {
    work = await temps.make('many-layers');
    store = new LayoutStore(join(work, 'layout'));
    await store.init();
    for (let i = 0; i < 210; i++) {
      const content = Buffer.from(`${i}\n`);
      const r = await writeLayerFromEntries(
        [{ entry: { path: `f${i}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: content.length, mtimeSec: 1_600_000_000, mtimeNsec: 0 }, content }],
        store,
      );
      layers.push({ diffId: r.diffId, descriptor: r.descriptor, open: () => store.read(r.descriptor.digest, { size: r.descriptor.size }) });
    }
  });
  after(() => temps.cleanup());

  const expected = (n: number): string[] => Array.from({ length: n }, (_, i) => `f${i}`).sort();

  test('190 layers (options over what mount(2) takes with absolute paths) all show; 210 are refused naming the limit; native shows 210', async () => {
    const overlay = new OverlaySnapshotter(join(work, 'snapshots'), store);
    const p = await overlay.prepare('k190', layers.slice(0, 190));
    try {
      assert.deepEqual((await readdir(p.rootfs)).sort(), expected(190));
    } finally {
      await overlay.remove('k190');
    }
    await assert.rejects(overlay.prepare('k210', layers), (err: Error & { code?: string; hint?: string }) => {
      assert.equal(err.code, 'TSB_SANDBOX_UNAVAILABLE');
      assert.match(err.message, /cannot stack 210 layers with overlayfs: their mount options take \d+ bytes, over the kernel's limit of 4095/);
      assert.match(err.hint ?? '', /--snapshotter native/);
      return true;
    });
    assert.deepEqual(await readdir(join(work, 'snapshots', 'active')), [], 'the refused snapshot left nothing');
    const native = new NativeSnapshotter(join(work, 'snapshots'), store);
    const n = await native.prepare('n210', layers);
    try {
      assert.deepEqual((await readdir(n.rootfs)).sort(), expected(210));
    } finally {
      await native.remove('n210');
    }
  });
});
