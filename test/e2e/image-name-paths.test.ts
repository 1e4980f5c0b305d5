// werf.yaml names images freely; a name is not a path (reliability catalog E8). An image named
// "../../../../canary" with a tmp_dir mount and a secret used to put the mount's source and the
// secret file beside the home, where the step then wrote: the host got canary/c/pwned and canary/s.
// Now both stay in the build's temp dir, the step still gets them, and nothing outside appears.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { finalRefName } from '../../lib/storage/index.js';
import { runCli, tempDirs } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';

describe('image names are never paths', () => {
  const dirs = tempDirs();
  after(() => dirs.cleanup());

  for (const name of ['../../../../canary', '..']) {
    test(`an image named ${JSON.stringify(name)}: its tmp_dir and secret stay in the build's temp dir`, async () => {
      // root/home is the home: its build temp dir is root/home/tmp/build-X, so four ".." reach root.
      const root = await dirs.make('names');
      const home = join(root, 'home');
      const tree = await busyboxTree();
      try {
        await storeLocalImage(join(home, 'store'), 'local.test/base:1', tree.dir);
      } finally {
        await tree.cleanup();
      }
      await mkdir(join(root, 'canary'));
      await writeFile(join(root, 'canary', 'keep'), 'host\n');
      const project = join(root, 'project');
      await mkdir(project);
      await writeFile(
        join(project, 'werf.yaml'),
        `project: names\nconfigVersion: 1\n---\nimage: ${JSON.stringify(name)}\nfrom: local.test/base:1\nmount:\n- from: tmp_dir\n  to: /c\nsecrets:\n- value: planted\n  id: s\nshell:\n  install:\n  - echo pwned > /c/pwned\n  - cat /run/secrets/s /c/pwned > /seen\n`,
      );
      const res = await runCli(['build', '--dir', project, '--pull', 'never'], { home });
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(await readdir(join(root, 'canary')), ['keep']);
      assert.deepEqual((await readdir(root)).sort(), ['canary', 'home', 'project']);
      assert.deepEqual(await readdir(join(home, 'tmp')), [], 'the build temp dir (mounts and secrets) is gone');
      // The step had both.
      const store = new LayoutStore(join(home, 'store'));
      const desc = await store.resolve(finalRefName('names', name));
      assert.ok(desc, 'final image stored');
      const manifest = JSON.parse((await store.readBytes(desc.digest)).toString()) as { layers: Array<{ digest: `sha256:${string}` }> };
      const top = manifest.layers[manifest.layers.length - 1]!;
      assert.equal(execFileSync('tar', ['-xzOf', store.blobPath(top.digest), 'seen'], { encoding: 'utf8' }), 'plantedpwned\n');
    });
  }
});
