// `from: scratch`: an empty base (no layers, an empty config) as in werf v2 and Docker, never pulled;
// fromImage chains start from it; `tsbuild run` of a scratch image holding only a static binary works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { readStoredImage } from '../../lib/image/index.js';
import { runCli, tempDirs } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const exec = promisify(execFile);

const YAML = `project: scr
configVersion: 1
---
artifact: tools
from: local.test/base:1
---
image: empty
from: scratch
---
image: app
from: scratch
import:
- artifact: tools
  add: /bin/busybox
  to: /busybox
  before: setup
docker:
  ENTRYPOINT: ["/busybox", "echo"]
  CMD: ["hello from scratch"]
---
image: shell
from: scratch
shell:
  install:
  - echo built > /marker
---
image: chained
fromImage: app
shell:
  setup:
  - /busybox mkdir /chained
`;

describe('from: scratch', () => {
  const temps = tempDirs();
  let home: { path: string; cleanup(): Promise<void> };
  let project: string;

  before(async () => {
    home = await homeWithLocalBase('scratch-home');
    project = await temps.make('scratch-project');
    await writeFile(join(project, 'werf.yaml'), YAML);
    // --pull never: nothing may be fetched (there is no registry here, and scratch is not an image).
    const res = await runCli(['build', '--dir', project, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
  });
  after(async () => {
    await home?.cleanup();
    await temps.cleanup();
  });

  const finalImage = async (name: string): Promise<Awaited<ReturnType<typeof readStoredImage>>> => {
    const store = new LayoutStore(join(home.path, 'store'));
    const desc = await store.resolve(`scr/${name}:latest`);
    assert.ok(desc, `scr/${name} is in the store`);
    return readStoredImage(store, desc);
  };

  test('an image that is only `from: scratch` has no layers and an empty config', async () => {
    const img = await finalImage('empty');
    assert.deepEqual(img.manifest.layers, []);
    assert.deepEqual(img.config.rootfs.diff_ids, []);
    assert.deepEqual(img.config.config, {});
    assert.equal(img.config.os, 'linux');
    const out = await temps.make('scratch-umoci');
    await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:scr/empty:latest`, join(out, 'b')]);
    const { stdout } = await exec('find', [join(out, 'b', 'rootfs'), '-mindepth', '1']);
    assert.equal(stdout, '');
  });

  test('a shell stage runs on scratch (the static bash needs nothing from the image)', async () => {
    const img = await finalImage('shell');
    assert.equal(img.manifest.layers.length, 1);
    const out = await temps.make('scratch-umoci');
    await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:scr/shell:latest`, join(out, 'b')]);
    assert.equal(await readFile(join(out, 'b', 'rootfs', 'marker'), 'utf8'), 'built\n');
  });

  test('tsbuild run of a scratch image holding only a static binary', async () => {
    const img = await finalImage('app');
    assert.equal(img.manifest.layers.length, 1);
    let res = await runCli(['run', '--dir', project, 'app'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'hello from scratch\n');
    res = await runCli(['run', '--dir', project, 'app', '--', 'args', 'replace', 'CMD'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'args replace CMD\n');
  });

  test('fromImage chains start from the scratch image', async () => {
    const img = await finalImage('chained');
    assert.equal(img.manifest.layers.length, 2);
    const out = await temps.make('scratch-umoci');
    await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:scr/chained:latest`, join(out, 'b')]);
    const { stdout } = await exec('ls', ['-A', join(out, 'b', 'rootfs')]);
    assert.deepEqual(stdout.trim().split('\n'), ['busybox', 'chained']);
    // The entrypoint comes along from app.
    const res = await runCli(['run', '--dir', project, 'chained', '--', 'chained too'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'chained too\n');
  });
});
