// `mount:` directives: bound into every user stage, never part of a layer; build_dir persists.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, mkdir, access, chmod, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const exec = promisify(execFile);

describe('mounts', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await homeWithLocalBase('mnt-home');
    project = await tempDir('mnt-project');
    await mkdir(join(project.path, 'hostdata'));
    await writeFile(join(project.path, 'hostdata', 'input.txt'), 'from the host\n');
    // A step is never host root (docs/security.md), also when tsbuild runs as root: like rootless
    // podman or Docker's userns-remap, it writes back into a host directory only if the directory lets it.
    await chmod(join(project.path, 'hostdata'), 0o777);
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  const yaml = (version: string): string => `project: mnt
configVersion: 1
---
image: app
from: local.test/base:1
fromCacheVersion: "${version}"
mount:
- from: tmp_dir
  to: /var/tmpcache
- from: build_dir
  to: /var/buildcache
- fromPath: hostdata
  to: /hostdata
shell:
  install:
  - echo scratch > /var/tmpcache/scratch
  - echo "run ${version}" >> /var/buildcache/runs.log
  - cat /hostdata/input.txt > /copied.txt
  - echo written-back > /hostdata/output.txt
`;

  test('tmp_dir, build_dir and fromPath are mounted in stages and never end up in a layer', async () => {
    await writeFile(join(project.path, 'werf.yaml'), yaml('1'));
    let res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    await writeFile(join(project.path, 'werf.yaml'), yaml('2'));
    res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    // build_dir persists across builds of the project.
    assert.equal(await readFile(join(home.path, 'build_dir', 'mnt', 'var-buildcache', 'runs.log'), 'utf8'), 'run 1\nrun 2\n');
    assert.equal(await readFile(join(project.path, 'hostdata', 'output.txt'), 'utf8'), 'written-back\n');
    // tmp_dir is gone after the build.
    const out = await tempDir('mnt-out');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:mnt/app:latest`, join(out.path, 'bundle')]);
      const rootfs = join(out.path, 'bundle', 'rootfs');
      assert.equal(await readFile(join(rootfs, 'copied.txt'), 'utf8'), 'from the host\n');
      for (const p of ['var', 'hostdata', '.tsbuild']) {
        await assert.rejects(access(join(rootfs, p)), `${p} must not be in the image`);
      }
    } finally {
      await out.cleanup();
    }
  });

  test('missing parents of mount points are made 0755 as Docker makes them, in the step and in the layer', async () => {
    // bwrap made them 0700: another user could not pass /.tsbuild (ansible become), and /newdir below
    // was recorded root-only in the layer.
    await writeFile(
      join(project.path, 'werf.yaml'),
      `project: mnt
configVersion: 1
---
image: parents
from: local.test/base:1
mount:
- from: tmp_dir
  to: /newdir/cache
shell:
  install:
  - echo beside > /newdir/file
  - stat -c %a /.tsbuild /.tsbuild/bin /newdir > /modes
`,
    );
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    const out = await tempDir('parents-out');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:mnt/parents:latest`, join(out.path, 'bundle')]);
      const rootfs = join(out.path, 'bundle', 'rootfs');
      assert.equal(await readFile(join(rootfs, 'modes'), 'utf8'), '755\n755\n755\n');
      assert.equal((await stat(join(rootfs, 'newdir'))).mode & 0o7777, 0o755);
      assert.equal(await readFile(join(rootfs, 'newdir', 'file'), 'utf8'), 'beside\n');
      await assert.rejects(access(join(rootfs, 'newdir', 'cache')), 'the mount point itself is not in the image');
    } finally {
      await out.cleanup();
    }
  });

  test('secrets from env, a file and a literal are readable in stages and never in a layer', async () => {
    await writeFile(
      join(project.path, 'werf.yaml'),
      `project: mnt
configVersion: 1
---
image: sec
from: local.test/base:1
secrets:
- id: token
  env: TSBUILD_TEST_TOKEN
- id: literal
  value: s3cret
- id: file
  src: hostdata/input.txt
shell:
  install:
  - cat /run/secrets/token /run/secrets/literal /run/secrets/file > /seen
`,
    );
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path, env: { TSBUILD_TEST_TOKEN: 'tok' } });
    assert.equal(res.code, 0, res.stderr);
    const out = await tempDir('sec-out');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:mnt/sec:latest`, join(out.path, 'bundle')]);
      const rootfs = join(out.path, 'bundle', 'rootfs');
      assert.equal(await readFile(join(rootfs, 'seen'), 'utf8'), 'toks3cretfrom the host\n');
      await assert.rejects(access(join(rootfs, 'run')), '/run/secrets must not be in the image');
    } finally {
      await out.cleanup();
    }
  });
});
