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
import { homeWithLocalBase } from '../support/local-image.js';
import { GitProject } from '../support/git-project.js';

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
    assert.ok(
      b.statuses.every((s) => s === 'cached'),
      b.statuses.join(','),
    );
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
    assert.ok(
      d.statuses.every((s) => s === 'cached'),
      d.statuses.join(','),
    );
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
    assert.equal(res.code, 1);
    assert.match(
      res.stderr,
      /tsbuild: error: the current commit of airgap is not built; these stages are not stored:\n {2}base: from [0-9a-f]{12}, install [0-9a-f]{12}\n {2}app: .*setup [0-9a-f]{12}/,
    );
    assert.match(res.stderr, /hint: run `tsbuild build` first/);
  });
});

describe('bundle save bundles what the current commit builds, not what the last build made', () => {
  const temps = tempDirs();
  let home: { path: string; cleanup(): Promise<void> };
  let repo: GitProject;

  before(async () => {
    home = await homeWithLocalBase('bundle-dev-home');
    repo = await GitProject.init(await temps.make('bundle-dev-project'));
    await repo.commit({
      'werf.yaml':
        'project: devb\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/base:1\ngit:\n- add: /src\n  to: /src\nshell:\n  setup: [cat /src/v.txt > /version]\n',
      'src/v.txt': 'committed\n',
    });
  });
  after(async () => {
    await home?.cleanup();
    await temps.cleanup();
  });

  const cli = (args: string[], h = home.path) => runCli([...args, '--dir', repo.dir], { home: h });

  test('after a --dev build: save refuses naming --dev, --dev saves the working tree, the commit is saved as the commit built it', async () => {
    await writeFile(join(repo.dir, 'src/v.txt'), 'working tree\n');
    assert.equal((await cli(['build', '--dev', '--pull', 'never'])).code, 0);
    const file = join(await temps.make('bundle-dev-out'), 'b.tar');
    const refused = await cli(['bundle', 'save', '-o', file]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /tsbuild: error: bundle save bundles the current commit, but the working tree has uncommitted changes in files used by the build:\n\s+src\/v\.txt/,
    );
    assert.match(refused.stderr, /hint: bundle what the working tree builds \(after `build --dev`\) with `tsbuild bundle save --dev`/);
    await assert.rejects(stat(file), 'nothing is written');

    const dev = await cli(['bundle', 'save', '--dev', '-o', file]);
    assert.equal(dev.code, 0, dev.stderr);
    assert.match(dev.stdout, /saved 1 final images, 3 stages and 1 base images of devb \(working tree\)/);

    // Back at the commit, which was never built: the stages it needs are listed.
    await repo.git('checkout', '--', 'src/v.txt');
    const missing = await cli(['bundle', 'save', '-o', file]);
    assert.equal(missing.code, 1, missing.stderr);
    // (What the commit needs on top of the working tree's stages: here a git patch stage.)
    assert.match(missing.stderr, /the current commit of devb is not built; these stages are not stored:\n {2}app: \w+ [0-9a-f]{12}(, \w+ [0-9a-f]{12})*\n/);
    assert.match(missing.stderr, /hint: run `tsbuild build` first/);

    // The commit built, then a --dev build names the final image again: the bundle still holds the commit's.
    assert.equal((await cli(['build', '--pull', 'never'])).code, 0);
    await writeFile(join(repo.dir, 'src/v.txt'), 'working tree\n');
    assert.equal((await cli(['build', '--dev', '--pull', 'never'])).code, 0);
    await repo.git('checkout', '--', 'src/v.txt');
    const saved = await cli(['bundle', 'save', '-o', file]);
    assert.equal(saved.code, 0, saved.stderr);
    const other = await temps.make('bundle-dev-load');
    assert.equal((await runCli(['bundle', 'load', '-i', file], { home: other })).code, 0);
    // (The commit's image is the dev stages plus a git patch: its sources are the commit's.)
    const run = await runCli(['run', '--dir', repo.dir, '--entrypoint', 'cat', 'app', '/src/v.txt'], { home: other });
    assert.equal(run.stdout, 'committed\n');
    const plan = await runCli(['plan', '--dir', repo.dir], { home: other });
    assert.equal(plan.code, 0, plan.stderr);
    assert.doesNotMatch(plan.stdout, /to-build/, 'the loaded bundle holds every stage the commit needs');
  });
});
