// A step that leaves a directory tree deeper than a path can name (reliability catalog A13, D: a
// step must not be able to break the home): built with relative mkdir/cd, which the kernel allows at
// any depth, it cannot be packed (a layer path is unpackable past PATH_MAX) nor removed with absolute
// paths. The build fails naming the stage and the path, removes the snapshot, and the next build
// works — on both snapshotters.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDirs } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { checkStore } from '../support/store-check.js';

async function leftovers(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['tmp', 'snapshots/active', 'snapshots/tmp', 'store/.tmp']) {
    for (const n of await readdir(join(home, sub)).catch(() => [] as string[])) out.push(`${sub}/${n}`);
  }
  return out;
}

describe('a step that leaves a tree deeper than PATH_MAX', () => {
  const dirs = tempDirs();
  after(() => dirs.cleanup());

  for (const snapshotter of ['overlayfs', 'native']) {
    test(`${snapshotter}: the build fails naming the stage and the path, leaves nothing, and the next build works`, async () => {
      const home = await homeWithLocalBase('deep');
      try {
        const project = await dirs.make('deep-project');
        // 3 × 700 levels, each reached with a relative cd: 4200 bytes below /deep.
        const yaml = (install: string): string =>
          `project: deep\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/base:1\nshell:\n  install:\n    - ${JSON.stringify(install)}\n`;
        await writeFile(
          join(project, 'werf.yaml'),
          yaml(
            'mkdir /deep && cd /deep && c=d && i=1 && while [ $i -lt 700 ]; do c=$c/d; i=$((i+1)); done && for n in 1 2 3; do mkdir -p $c && cd -P $c; done && echo x > leaf',
          ),
        );
        const args = ['build', '--dir', project, '--pull', 'never', '--snapshotter', snapshotter];
        const res = await runCli(args, { home: home.path });
        assert.equal(res.code, 1, res.stderr);
        assert.doesNotMatch(res.stderr, /internal error/);
        assert.match(res.stderr, /install/);
        assert.match(res.stderr, /deep\/d\/d\/d/);
        assert.match(res.stderr, /too long/);
        assert.deepEqual(await leftovers(home.path), [], 'the snapshot of the failed stage is removed');
        assert.deepEqual(await checkStore(join(home.path, 'store')), []);

        await writeFile(join(project, 'werf.yaml'), yaml('mkdir -p /deep/d/d && echo x > /deep/d/d/leaf'));
        const next = await runCli(args, { home: home.path });
        assert.equal(next.code, 0, next.stderr);
        assert.deepEqual(await leftovers(home.path), []);
      } finally {
        await home.cleanup();
      }
    });
  }
});
