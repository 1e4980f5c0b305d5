// Air-gapped bundles: build on runner A, `bundle save`, stop the registry, `bundle load` into a fresh
// home and build there with --pull=never: fully cached with no network. `bundle load --repo`
// publishes the stages so a fresh runner using that repository is fully cached too.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDirs } from '../support/cli.js';


describe('bundle save / load', () => {
  let registry: RunningRegistry;
  let target: RunningRegistry;
  const temps = tempDirs();
  const temp = temps.make;
  let project: string;
  let bundleFile: string;

  before(async () => {
    registry = await startRegistry();
    target = await startRegistry();
    const base = (await seedBusyboxImage(registry.host)).ref;
    project = await temp('bundle-project');
    await writeFile(
      join(project, 'werf.yaml'),
      `project: airgap
configVersion: 1
---
image: base
from: ${base}
shell:
  install: [mkdir -p /opt, echo base > /opt/base]
---
image: app
fromImage: base
shell:
  setup: [cat /opt/base > /opt/app]
docker:
  CMD: [cat, /opt/app]
`,
    );
    bundleFile = join(await temp('bundle-out'), 'airgap.tar');
  });
  after(async () => {
    await registry?.stop();
    await target?.stop();
    await temps.cleanup();
  });

  async function report(home: string, args: string[]): Promise<{ code: number; stderr: string; statuses: string[] }> {
    const reportPath = join(home, 'report.json');
    const res = await runCli(['build', '--dir', project, '--report-path', reportPath, ...args], { home });
    if (res.code !== 0) return { code: res.code, stderr: res.stderr, statuses: [] };
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ status: string }> }> };
    return { code: 0, stderr: res.stderr, statuses: r.images.flatMap((i) => i.stages.map((s) => s.status)) };
  }

  test('a bundle loaded into a fresh home builds fully cached with the registry stopped', async () => {
    const homeA = await temp('home-a');
    const a = await report(homeA, []);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(a.statuses.every((s) => s === 'built'));
    const saved = await runCli(['bundle', 'save', '--dir', project, '-o', bundleFile], { home: homeA });
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, /saved 2 final images, 5 stages and 1 base images of airgap/);
    assert.ok((await stat(bundleFile)).size > 0);

    await registry.stop();
    const homeB = await temp('home-b');
    const loaded = await runCli(['bundle', 'load', '-i', bundleFile], { home: homeB });
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /loaded 2 final images, 5 stages and 1 base images of airgap/);
    const b = await report(homeB, ['--pull=never']);
    assert.equal(b.code, 0, b.stderr);
    assert.equal(b.statuses.length, 5);
    assert.ok(b.statuses.every((s) => s === 'cached'), b.statuses.join(','));
    // The stage records came along: listing shows every stage with its image and stage name.
    const list = await runCli(['stages', 'list', '--project', 'airgap'], { home: homeB });
    assert.equal(list.code, 0, list.stderr);
    for (const s of ['from', 'install', 'setup', 'dockerInstructions']) assert.match(list.stdout, new RegExp(`\\b${s}\\b`));
  });

  test('bundle load --repo publishes the stages; a fresh runner with --repo is fully cached', async () => {
    const homeC = await temp('home-c');
    const repo = `${target.host}/airgap-stages`;
    const loaded = await runCli(['bundle', 'load', '-i', bundleFile, '--repo', repo], { home: homeC });
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /published 5 stages/);
    const again = await runCli(['bundle', 'load', '-i', bundleFile, '--repo', repo], { home: await temp('home-c2') });
    assert.match(again.stdout, /published 0 stages .*\(5 were already there\)/);
    const d = await report(await temp('home-d'), ['--repo', repo, '--pull=never']);
    assert.equal(d.code, 0, d.stderr);
    assert.ok(d.statuses.every((s) => s === 'cached'), d.statuses.join(','));
  });

  test('a plain image archive is refused with a hint', async () => {
    const homeE = await temp('home-e');
    const notBundle = join(await temp('plain'), 'x.tar');
    await writeFile(notBundle, '');
    const res = await runCli(['bundle', 'load', '-i', notBundle], { home: homeE });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /error:/);
  });

  test('saving a project that was never built names the image and the fix', async () => {
    const res = await runCli(['bundle', 'save', '--dir', project, '-o', join(await temp('o'), 'b.tar')], { home: await temp('home-f') });
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /not built in the local store/);
    assert.match(res.stderr, /hint: run `tsbuild build`/);
  });
});
