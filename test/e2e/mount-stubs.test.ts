// Mount points a step replaces (reliability catalog C9, BuildKit CVE-2024-23652): a mount at a path
// the image lacks gets stub directories, removed again before the layer is made. A step that moves
// the stub's parent away and puts a symlink to a host directory in its place must not make that
// cleanup follow the link: the host directory's own empty dirs of the same names stay, and the layer
// holds the symlink as the step left it, with no stub.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir, readlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { finalRefName } from '../../lib/storage/index.js';
import { runCli, tempDirs } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const exec = promisify(execFile);

describe('mount stubs a step replaced with a symlink to the host', () => {
  const dirs = tempDirs();
  after(() => dirs.cleanup());

  for (const snapshotter of ['overlayfs', 'native']) {
    test(`${snapshotter}: the cleanup of stubs follows no symlink; the layer has the link and no stub`, async () => {
      const home = await homeWithLocalBase('stubs');
      try {
        const canary = await dirs.make('stubs-canary');
        // What a cleanup that followed /work → canary would remove: empty dirs named like the stubs.
        await mkdir(join(canary, 'cache', 'x'), { recursive: true });
        await writeFile(join(canary, 'keep'), 'host\n');
        const project = await dirs.make('stubs-project');
        await writeFile(
          join(project, 'werf.yaml'),
          `project: stubs\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/base:1\nmount:\n- from: tmp_dir\n  to: /work/cache/x\nshell:\n  install:\n  - echo in > /work/cache/x/f\n  - mv /work /moved\n  - ln -s ${canary} /work\n`,
        );
        const res = await runCli(['build', '--dir', project, '--pull', 'never', '--snapshotter', snapshotter], { home: home.path });
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual((await readdir(canary)).sort(), ['cache', 'keep']);
        assert.deepEqual(await readdir(join(canary, 'cache')), ['x']);
        assert.deepEqual(await readdir(join(canary, 'cache', 'x')), []);

        const bundle = await dirs.make('stubs-bundle');
        await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:${finalRefName('stubs', 'app')}`, join(bundle, 'b')]);
        const rootfs = join(bundle, 'b', 'rootfs');
        assert.equal(await readlink(join(rootfs, 'work')), canary);
        // The stubs moved with their parent are the step's doing and stay; what was mounted is not in them.
        assert.deepEqual(await readdir(join(rootfs, 'moved', 'cache', 'x')), []);
      } finally {
        await home.cleanup();
      }
    });
  }
});
