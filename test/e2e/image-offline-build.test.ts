// End to end: base images in the local store are used without any network access. The registry is
// stopped before building; --pull=never (and the default --pull=missing) then still build, and a base
// that is not stored fails naming the image and the offline ways in (archives, a mirror, what is
// stored under that name), never a pull. Air-gapped: save -> load -> build.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);

function werfYaml(base: string, marker: string): string {
  return `project: offline
configVersion: 1
---
image: app
from: ${base}
shell:
  install:
    - echo ${marker} > /marker.txt
`;
}

describe('builds from base images in the local store, with no registry', () => {
  let reg: RunningRegistry;
  let ref: string;
  let work: { path: string; cleanup(): Promise<void> };
  let home: string;
  const env = { XDG_RUNTIME_DIR: '', REGISTRY_AUTH_FILE: '' };

  before(async () => {
    reg = await startRegistry();
    ref = (await seedBusyboxImage(reg.host)).ref;
    work = await tempDir('offline');
    home = join(work.path, 'home');
    const pull = await runCli(['image', 'pull', ref], { home, env });
    assert.equal(pull.code, 0, pull.stderr);
    // From here on nothing answers at the registry's address.
    await reg.stop();
  });
  after(async () => {
    await reg?.stop();
    await work?.cleanup();
  });

  async function build(h: string, base: string, marker: string, extra: string[]): Promise<Awaited<ReturnType<typeof runCli>>> {
    const dir = join(work.path, `project-${marker}`);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'werf.yaml'), werfYaml(base, marker));
    return runCli(['build', '--dir', dir, '--log-format', 'plain', ...extra], { home: h, env });
  }

  test('--pull=never builds from the stored base while the registry is down', async () => {
    const res = await build(home, ref, 'never', ['--pull=never']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /image app: sha256:[a-f0-9]{64}/);
    assert.doesNotMatch(res.stderr, /pull /);
  });

  test('the default --pull=missing also needs no network when the base is stored', async () => {
    const res = await build(home, ref, 'missing', []);
    assert.equal(res.code, 0, res.stderr);
  });

  const quoted = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

  test('a base that is not stored fails with --pull=never, pointing at archives and not at a pull', async () => {
    const absent = `${reg.host}/library/busybox:absent`;
    const res = await build(home, absent, 'absent', ['--pull=never']);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`base image ${quoted(absent)} is not in the local store and --pull=never forbids fetching it`));
    const hint = /^hint: (.*)$/m.exec(res.stderr)?.[1] ?? '';
    assert.match(hint, /tsbuild image load -i FILE/);
    assert.match(hint, /tsbuild bundle load -i FILE/);
    assert.match(hint, new RegExp(`stored locally for ${quoted(`${reg.host}/library/busybox`)}: ${quoted(ref)}$`));
    assert.doesNotMatch(hint, /image pull/, 'a pull needs the network --pull=never refuses');
  });

  test('an unreachable registry: the hint names archives, a mirror, --pull never and what is stored, not --insecure-registry', async () => {
    const absent = `${reg.host}/library/busybox:absent`;
    const res = await build(home, absent, 'unreachable', []);
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, new RegExp(`tsbuild: error: cannot reach ${quoted(reg.host)} for base image ${quoted(absent)}: .*ECONNREFUSED`));
    const hint = /^hint: (.*)$/m.exec(res.stderr)?.[1] ?? '';
    assert.match(hint, /tsbuild image load -i FILE/);
    assert.match(hint, /tsbuild bundle load -i FILE/);
    assert.match(hint, new RegExp(`--registry-mirror ${quoted(reg.host)}=MIRROR`));
    assert.match(hint, /--pull never/);
    assert.match(hint, new RegExp(`stored locally for ${quoted(`${reg.host}/library/busybox`)}: ${quoted(ref)}$`));
    assert.doesNotMatch(res.stderr, /insecure-registry/);
    // Nothing stored under another name: the hint says so instead of listing.
    const other = await build(home, `${reg.host}/team/nothing:1`, 'nothing', []);
    assert.match(other.stderr, new RegExp(`nothing is stored locally for ${quoted(`${reg.host}/team/nothing`)}`));
  });

  test('a final image is listed with kind final and pushed by its store name', async () => {
    const list = await runCli(['image', 'list', '--format', 'json'], { home, env });
    const rows = JSON.parse(list.stdout) as Array<{ name: string; kind: string; digest: string }>;
    const final = rows.find((r) => r.name === 'offline/app:latest');
    assert.equal(final?.kind, 'final', list.stdout);
    const target = await startRegistry();
    try {
      const dest = `${target.host}/released/app:1.0`;
      const push = await runCli(['image', 'push', 'offline/app:latest', dest], { home, env });
      assert.equal(push.code, 0, push.stderr);
      assert.equal(push.stdout.trim(), `pushed ${dest}@${final!.digest}`);
      const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${dest}`]);
      assert.equal((JSON.parse(stdout) as { Digest: string }).Digest, final!.digest);
    } finally {
      await target.stop();
    }
  });

  test('air-gapped: an archive saved on one machine is loaded on another and built from', async () => {
    const file = join(work.path, 'base.tar');
    const save = await runCli(['image', 'save', ref, '-o', file], { home, env });
    assert.equal(save.code, 0, save.stderr);
    const other = join(work.path, 'home-airgapped');
    const load = await runCli(['image', 'load', '-i', file], { home: other, env });
    assert.equal(load.code, 0, load.stderr);
    const res = await build(other, ref, 'airgapped', ['--pull=never']);
    assert.equal(res.code, 0, res.stderr);
  });
});
