import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canMountOverlay } from './probe.js';
import { canMountOverlayCached, overlayProbeKey } from './overlay-probe-cache.js';

test('a successful overlay probe is kept for this boot; a failed one is probed again', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-probe-cache-'));
  try {
    const file = join(dir, 'run', 'overlay-probe.json');
    const how: Parameters<typeof canMountOverlay>[0] = process.getuid?.() === 0 ? 'direct' : 'unshare';
    let probes = 0;
    const real = (h: Parameters<typeof canMountOverlay>[0]): Promise<boolean> => {
      probes++;
      return canMountOverlay(h);
    };
    const first = await canMountOverlayCached(how, file, real);
    const second = await canMountOverlayCached(how, file, real);
    assert.equal(second, first);
    const key = await overlayProbeKey(how);
    assert.ok(key, 'this Linux has a boot id');
    if (first) {
      assert.equal(probes, 1, 'the second call was answered from the cache');
      assert.deepEqual(JSON.parse(await readFile(file, 'utf8')), { [key]: true });
    } else {
      assert.equal(probes, 2, 'a "no" is not kept');
    }
    // Another mode is another question.
    probes = 0;
    let asked: string | undefined;
    assert.equal(
      await canMountOverlayCached('userxattr', file, async (h) => {
        asked = h;
        probes++;
        return false;
      }),
      false,
    );
    assert.equal(asked, 'userxattr');
    assert.equal(probes, 1);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
