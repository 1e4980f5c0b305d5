// The sandbox: nothing of the builder leaks in, and hostile images cannot touch the host.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { access, symlink, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';

describe('sandbox isolation and hostile images', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };
  let hostMarker: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await tempDir('sbx-home');
    project = await tempDir('sbx-project');
    hostMarker = await tempDir('sbx-host');
    await writeFile(join(hostMarker.path, 'host-secret'), 'host only\n');
    const tree = await busyboxTree();
    try {
      await storeLocalImage(join(home.path, 'store'), 'local.test/plain:1', tree.dir);
      // Hostile 1: the sandbox's own mount point is a symlink to a host directory.
      await symlink(join(hostMarker.path, 'pwn'), join(tree.dir, '.tsbuild'));
      await storeLocalImage(join(home.path, 'store'), 'local.test/symlinked-mount:1', tree.dir);
    } finally {
      await tree.cleanup();
    }
    const tree2 = await busyboxTree();
    try {
      // Hostile 2: WORKDIR is a symlink into /proc/self/fd, and /escape points at a host path.
      await symlink('/proc/self/fd/7', join(tree2.dir, 'wd'));
      await symlink(hostMarker.path, join(tree2.dir, 'escape'));
      await storeLocalImage(join(home.path, 'store'), 'local.test/proc-workdir:1', tree2.dir, { WorkingDir: '/wd' });
    } finally {
      await tree2.cleanup();
    }
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
    await hostMarker?.cleanup();
  });

  const config = (from: string, setup: string[]): string =>
    `project: sbx\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\nshell:\n  setup:\n${setup.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}\n`;

  test("the builder's environment and file descriptors are not visible inside a stage", async () => {
    await writeFile(join(project.path, 'werf.yaml'), config('local.test/plain:1', ['env | sort > /env.txt', 'ls /proc/self/fd > /fds.txt']));
    let res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path, env: { SECRET_TOKEN: 'do-not-leak' } });
    assert.equal(res.code, 0, res.stderr);
    res = await runCli(['run', '--dir', project.path, 'app', '--', '/bin/cat', '/env.txt', '/fds.txt'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.doesNotMatch(res.stdout, /SECRET_TOKEN|TSBUILD_HOME|do-not-leak/);
    assert.match(res.stdout, /^PATH=\/bin$/m);
    assert.match(res.stdout, /^HOME=\/root$/m);
    const fds = res.stdout.split('\n').filter((l) => /^\d+$/.test(l));
    // stdin, stdout, stderr and the fd `ls` opened for /proc/self/fd: nothing tsbuild opened, and
    // nothing the process that started tsbuild left open (CI harnesses leak fds into children).
    assert.ok(fds.length <= 4, `unexpected fds inside the sandbox: ${fds.join(' ')}`);
  });

  test("a stage's stderr reaches the build output and the failure's last lines", async () => {
    // Regression: closing inherited descriptors left every step's stderr on /dev/null.
    await writeFile(join(project.path, 'werf.yaml'), config('local.test/plain:1', ['echo out-line', 'echo err-line >&2', 'exit 4']));
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--log-format', 'plain'], { home: home.path });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /│ err-line$/m);
    assert.match(res.stderr, /--- last output lines ---\nout-line\nerr-line\n/);
  });

  test('an image whose mount point is a symlink to a host path is refused and creates nothing on the host', async () => {
    await writeFile(join(project.path, 'werf.yaml'), config('local.test/symlinked-mount:1', ['echo hi']));
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /symlink on the path \/\.tsbuild/);
    await assert.rejects(access(join(hostMarker.path, 'pwn')), 'nothing may be created through the symlink');
    assert.deepEqual(await readdir(hostMarker.path), ['host-secret']);
  });

  test('a WORKDIR symlinked into /proc/self/fd and symlinks to host paths stay inside the sandbox', async () => {
    await writeFile(
      join(project.path, 'werf.yaml'),
      config('local.test/proc-workdir:1', ['ls /escape/ > /escape-listing.txt 2>&1 || true', 'cat /escape/host-secret > /stolen.txt 2>&1 || true']),
    );
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    // Whether bwrap refuses the working directory or runs in it, the host must stay untouched.
    if (res.code === 0) {
      const run = await runCli(['run', '--dir', project.path, 'app', '--', '/bin/cat', '/stolen.txt'], { home: home.path });
      assert.doesNotMatch(run.stdout, /host only/);
    }
    assert.deepEqual(await readdir(hostMarker.path), ['host-secret']);
  });
});
