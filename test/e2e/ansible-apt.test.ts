// End to end: the apt module on a Debian bookworm base made by debootstrap (cached between runs),
// which needs the image's own python for python3-apt: ansible installs it and re-runs the module
// with that python, so the toolchain's PYTHONHOME must not leak into it.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir, HANG_GUARD_MS } from '../support/cli.js';
import { storeLocalImage } from '../support/local-image.js';
import { debianRoot, installStapel } from './ansible-support.js';

const BASE = 'example.invalid/debian:bookworm-minbase';

describe('ansible apt on a Debian base', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await tempDir('ansible-apt-home');
    project = await tempDir('ansible-apt-project');
    await installStapel(home.path);
    const root = await tempDir('debian-root');
    await debianRoot(root.path);
    await storeLocalImage(join(home.path, 'store'), BASE, root.path, { Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'] });
    await root.cleanup();
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  test('apt installs a package (update_cache, python3-apt bootstrapped by the module)', async () => {
    await writeFile(
      join(project.path, 'werf.yaml'),
      `project: apt
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  install:
  - name: install hello
    apt:
      name: hello
      update_cache: yes
      install_recommends: no
  setup:
  - command: hello -g from-apt
    register: out
  - debug: var=out.stdout
`,
    );
    const reportPath = join(project.path, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--log-format', 'plain', '--report-path', reportPath], {
      home: home.path,
      timeoutMs: HANG_GUARD_MS,
    });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /TASK install\[0\] "install hello" \(apt\)\n.*changed/);
    assert.match(res.stderr, /from-apt/);
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    assert.deepEqual(
      report.images[0]!.stages.map((s) => s.status),
      ['built', 'built', 'built'],
    );
    const run = await runCli(['run', '--dir', project.path, 'app', '--', 'sh', '-c', 'hello; dpkg -s hello | grep Status; test ! -e /.tsbuild && echo clean'], {
      home: home.path,
    });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Hello, world!/);
    assert.match(run.stdout, /install ok installed/);
  });
});
