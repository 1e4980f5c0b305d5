// End to end: `tsbuild stapel build` is reproducible (same packages -> same digest in another home),
// --push puts it in a registry, and a machine without it builds ansible stages with --stapel-image
// (pulled like a base image); without any toolchain the build says how to get one.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { stapelFixture } from './ansible-support.js';

const BASE = 'example.invalid/busybox:stapel';
const YAML = `project: st
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  install:
  - copy: content="from a pulled toolchain" dest=/hello.txt
`;

describe('stapel toolchain image', () => {
  let registry: RunningRegistry;
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    registry = await startRegistry();
    home = await tempDir('stapel-home');
    project = await tempDir('stapel-project');
    const tree = await busyboxTree();
    await storeLocalImage(join(home.path, 'store'), BASE, tree.dir);
    await tree.cleanup();
    await writeFile(join(project.path, 'werf.yaml'), YAML);
  });
  after(async () => {
    await registry?.stop();
    await home?.cleanup();
    await project?.cleanup();
  });

  test('without a toolchain an ansible build fails with a hint to build or name one', async () => {
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /stapel toolchain .*tsbuild\/stapel:1 is not in the local store/);
    assert.match(res.stderr, /tsbuild stapel build/);
  });

  test('stapel build in a fresh home gives the same digest; --push; another home builds with --stapel-image', async () => {
    const fixture = await stapelFixture();
    const builder = await tempDir('stapel-builder');
    try {
      const ref = `${registry.host}/tools/stapel:1`;
      const res = await runCli(['stapel', 'build', '-q', '--deb-cache', fixture.debCache, '--push', ref], { home: builder.path, timeoutMs: 600_000 });
      assert.equal(res.code, 0, res.stderr);
      assert.equal(res.stdout.trim(), fixture.descriptor.digest, 'the toolchain is not reproducible');
      const built = await runCli(['build', '--dir', project.path, '--stapel-image', ref, '--log-format', 'plain'], { home: home.path });
      assert.equal(built.code, 0, built.stderr);
      assert.match(built.stderr, new RegExp(`pull ${ref.replace(/[.]/g, '\\.')}`));
      const run = await runCli(['run', '--dir', project.path, 'app', '--', 'cat', '/hello.txt'], { home: home.path });
      assert.equal(run.stdout, 'from a pulled toolchain');
    } finally {
      await builder.cleanup();
    }
  });
});
