// End to end: the stapel toolchain appears when needed. With the Debian archive unreachable and no
// toolchain, an ansible build fails naming both ways to one; the first ansible build on a machine
// makes it (progress events, same digest as `tsbuild stapel build`: reproducible) from the .deb files
// the tests keep, so no network is needed; another machine pulls it with --stapel-image.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, link, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HANG_GUARD_MS, runCli, tempDirs } from '../support/cli.js';
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
  - copy: content="from a made toolchain" dest=/hello.txt
`;

describe('stapel toolchain image', () => {
  let registry: RunningRegistry;
  const temps = tempDirs();
  let project: string;
  let aptOffline: string;

  /** A TSBUILD_HOME with the base image stored (and nothing else). */
  async function home(prefix: string): Promise<string> {
    const h = await temps.make(prefix);
    const tree = await busyboxTree();
    await storeLocalImage(join(h, 'store'), BASE, tree.dir);
    await tree.cleanup();
    return h;
  }

  before(async () => {
    registry = await startRegistry();
    project = await temps.make('stapel-project');
    await writeFile(join(project, 'werf.yaml'), YAML);
    // apt with every download sent to a closed port: the Debian archive is unreachable.
    aptOffline = join(await temps.make('apt'), 'apt.conf');
    await writeFile(aptOffline, 'Acquire::http::Proxy "http://127.0.0.1:9/";\nAcquire::https::Proxy "http://127.0.0.1:9/";\nAcquire::Retries "0";\n');
  });
  after(async () => {
    await registry?.stop();
    await temps.cleanup();
  });

  test('no toolchain and the Debian archive unreachable: the build fails naming both ways; doctor says it is not stored', async () => {
    const h = await home('stapel-offline');
    const doctor = await runCli(['doctor'], { home: h });
    assert.match(doctor.stdout, /^note stapel toolchain +docker\.io\/tsbuild\/stapel:1 is not stored; the first ansible build makes it from Debian packages/m);
    const res = await runCli(['build', '--dir', project, '--pull', 'never'], { home: h, env: { APT_CONFIG: aptOffline } });
    assert.notEqual(res.code, 0, res.stderr);
    assert.match(
      res.stderr,
      /image "app" has ansible instructions and the stapel toolchain docker\.io\/tsbuild\/stapel:1 is not stored; making it failed: apt-get download failed: .*127\.0\.0\.1:9/,
    );
    const hint = /^hint: (.*)$/m.exec(res.stderr)?.[1] ?? '';
    assert.match(hint, /make it from Debian packages \(needs apt-get and a reachable Debian archive/);
    assert.match(hint, /--stapel-image REGISTRY\/REPO:TAG/);
    const list = await runCli(['image', 'list', '--format', 'json'], { home: h });
    assert.deepEqual(
      (JSON.parse(list.stdout) as Array<{ name: string }>).map((i) => i.name),
      [BASE],
      'nothing half-made is named',
    );
  });

  test('the first ansible build makes the toolchain with progress events, reproducibly; doctor then reports it', async () => {
    const fixture = await stapelFixture();
    const h = await home('stapel-auto');
    // The .deb files this machine already fetched: making the toolchain needs no network.
    const debs = join(h, 'cache', 'stapel-debs');
    await mkdir(debs, { recursive: true });
    for (const f of await readdir(fixture.debCache))
      await link(join(fixture.debCache, f), join(debs, f)).catch(() => copyFile(join(fixture.debCache, f), join(debs, f)));
    const res = await runCli(['build', '--dir', project, '--pull', 'never', '--log-format', 'json'], {
      home: h,
      env: { APT_CONFIG: aptOffline },
      timeoutMs: HANG_GUARD_MS,
    });
    assert.equal(res.code, 0, res.stderr);
    const events = res.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; message?: string });
    const progress = events.filter((e) => e.type === 'stapel.progress').map((e) => e.message ?? '');
    assert.match(progress[0] ?? '', /the ansible toolchain docker\.io\/tsbuild\/stapel:1 is not stored: making it from Debian packages/);
    assert.ok(
      progress.some((m) => /^\d+ packages: /.test(m)),
      progress.join('\n'),
    );
    assert.equal(
      progress.at(-1),
      `stored docker.io/tsbuild/stapel:1: ${progress.find((m) => /^\d+ packages/.test(m))!.split(' ')[0]} packages, ${fixture.descriptor.digest}`,
      'the same toolchain as `tsbuild stapel build` made',
    );
    const firstStage = events.findIndex((e) => e.type === 'stage.start');
    assert.ok(firstStage > events.findIndex((e) => e.message === progress.at(-1)), 'the toolchain is made before the stages run');
    const run = await runCli(['run', '--dir', project, 'app', '--', 'cat', '/hello.txt'], { home: h });
    assert.equal(run.stdout, 'from a made toolchain');
    const doctor = await runCli(['doctor'], { home: h });
    assert.match(
      doctor.stdout,
      new RegExp(`^ok {3}stapel toolchain +docker\\.io/tsbuild/stapel:1 is stored \\(${fixture.descriptor.digest.slice(0, 19)}, \\d+ packages\\)$`, 'm'),
    );
    // A second build finds it stored and makes nothing.
    const again = await runCli(['build', '--dir', project, '--pull', 'never', '--log-format', 'json'], { home: h, env: { APT_CONFIG: aptOffline } });
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stderr, /stapel\.progress/);
  });

  test('another machine pulls the toolchain with --stapel-image (or TSBUILD_STAPEL_IMAGE)', async () => {
    const fixture = await stapelFixture();
    const ref = `${registry.host}/tools/stapel:1`;
    const pushed = await runCli(['image', 'push', fixture.name, ref], { home: fixture.home });
    assert.equal(pushed.code, 0, pushed.stderr);
    const h = await home('stapel-pull');
    const built = await runCli(['build', '--dir', project, '--stapel-image', ref, '--log-format', 'plain'], { home: h, env: { APT_CONFIG: aptOffline } });
    assert.equal(built.code, 0, built.stderr);
    assert.match(built.stderr, new RegExp(`pull ${ref.replace(/[.]/g, '\\.')}`));
    assert.doesNotMatch(built.stderr, /stapel: /, 'nothing is made when a toolchain image is named');
    const run = await runCli(['run', '--dir', project, 'app', '--', 'cat', '/hello.txt'], { home: h });
    assert.equal(run.stdout, 'from a made toolchain');
    const other = await home('stapel-env');
    const viaEnv = await runCli(['build', '--dir', project, '--log-format', 'plain'], {
      home: other,
      env: { APT_CONFIG: aptOffline, TSBUILD_STAPEL_IMAGE: ref },
    });
    assert.equal(viaEnv.code, 0, viaEnv.stderr);
    assert.match(viaEnv.stderr, new RegExp(`pull ${ref.replace(/[.]/g, '\\.')}`));
  });
});
