// `tsbuild plan` and `build --dry-run` before and after a build, on a project with everything that
// makes planning hard: an artifact with a git mapping on a fromLatest base from a registry, imports
// from an artifact, from an image and from an image's stage, a fromImage chain, and ansible. Plan
// and build must agree on every signature; after a build everything is cached; with --repo on a
// fresh machine planning asks the registry for manifests only and stores nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { logOffset, requestsSince } from '../support/access-log.js';
import { runCli, tempDirs } from '../support/cli.js';
import { GitProject } from '../support/git-project.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { installStapel } from './ansible-support.js';

interface Plan {
  images: Array<{ name: string; stages: Array<{ name: string; signature: string | null; status: string; reason?: string }> }>;
}
interface Report {
  images: Array<{ name: string; stages: Array<{ name: string; signature: string; status: string }> }>;
}

describe('plan and build --dry-run', () => {
  let registry: RunningRegistry;
  const temps = tempDirs();
  let base: string;
  let project: GitProject;
  let home: string;
  let built: Report | undefined;

  const yaml = (host: string) => `project: planned
configVersion: 1
---
artifact: builder
from: ${host}/plan/base:1
fromLatest: true
git:
- add: /src
  to: /app/src
  stageDependencies:
    install: ['**/*']
shell:
  install:
  - mkdir -p /out && cp -r /app/src /out/ && echo built > /out/marker
---
image: tools
from: local.test/base:1
shell:
  install: [mkdir -p /tools && echo t1 > /tools/t1]
  setup: [echo t2 > /tools/t2]
---
image: app
fromImage: tools
import:
- artifact: builder
  add: /out
  to: /srv
  after: install
- image: tools
  stage: install
  add: /tools
  to: /opt/tools-install
  before: setup
shell:
  install: [echo app > /app.txt]
  setup: [ls /srv/src /opt/tools-install > /listing]
---
image: leaf
fromImage: app
shell:
  install: [cat /listing > /leaf.txt]
---
image: playbook
from: local.test/base:1
ansible:
  install:
  - name: a file
    copy: {content: "hello\\n", dest: /hello.txt}
`;

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host, { repo: 'plan/base', tag: '1' })).ref;
    project = await GitProject.init(await temps.make('plan-project'));
    await project.commit({ 'werf.yaml': yaml(registry.host), 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' });
    home = await temps.make('plan-home');
    await installStapel(home);
    const tree = await busyboxTree();
    await storeLocalImage(join(home, 'store'), 'local.test/base:1', tree.dir);
    await tree.cleanup();
  });
  after(async () => {
    await registry?.stop();
    await temps.cleanup();
  });

  async function plan(args: string[], h = home): Promise<Plan> {
    const res = await runCli(['plan', '--dir', project.dir, '--log-format', 'json', ...args], { home: h });
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(res.stdout) as Plan;
  }
  const rows = (p: Plan, image: string): string[] => p.images.find((i) => i.name === image)!.stages.map((s) => `${s.name}:${s.status}`);

  test('before a build: importing stages wait for their sources, everything else is planned, exit 0', async () => {
    const p = await plan([]);
    assert.deepEqual(rows(p, 'builder'), ['from:to-build', 'gitArchive:to-build', 'install:to-build']);
    assert.deepEqual(rows(p, 'tools'), ['from:to-build', 'install:to-build', 'setup:to-build']);
    assert.deepEqual(rows(p, 'app'), ['from:to-build', 'install:to-build', 'importsAfterInstall:unknown', 'importsBeforeSetup:unknown', 'setup:unknown']);
    assert.match(p.images.find((i) => i.name === 'app')!.stages[2]!.reason!, /unknown until image "(builder|tools)" is built/);
    assert.deepEqual(rows(p, 'leaf'), ['from:unknown', 'install:unknown']);
    assert.deepEqual(rows(p, 'playbook'), ['from:to-build', 'install:to-build']);
    const table = await runCli(['build', '--dry-run', '--dir', project.dir], { home });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /app\s+importsAfterInstall\s+\?\s+unknown\s+unknown until image "builder" is built/);
    assert.match(table.stdout, /leaf\s+from\s+\?\s+unknown/);
  });

  test('after a build: plan and --dry-run show every stage cached with the signatures the build used', async () => {
    const reportPath = join(home, 'report.json');
    const res = await runCli(['build', '--dir', project.dir, '--repo', `${registry.host}/plan-stages`, '--report-path', reportPath], { home });
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    built = report;
    const p = await plan([]);
    for (const img of report.images) {
      const planned = p.images.find((i) => i.name === img.name)!;
      assert.deepEqual(
        planned.stages.map((s) => [s.name, s.signature, s.status]),
        img.stages.map((s) => [s.name, s.signature, 'cached']),
        img.name,
      );
    }
    const dry = await runCli(['build', '--dry-run', '--dir', project.dir, '--log-format', 'json'], { home });
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(JSON.parse(dry.stdout), p);
  });

  test('a changed source file: the artifact rebuilds from install (files named), its importers wait for it', async () => {
    await project.commit({ 'src/b.txt': 'b2\n' });
    const p = await plan([]);
    assert.deepEqual(rows(p, 'builder'), ['from:cached', 'gitArchive:cached', 'install:to-build']);
    const install = p.images.find((i) => i.name === 'builder')!.stages.find((s) => s.name === 'install')!;
    assert.equal(install.status, 'to-build');
    assert.match(install.reason!, /install: stageDependencies files changed: src\/b\.txt/);
    assert.deepEqual(rows(p, 'tools'), ['from:cached', 'install:cached', 'setup:cached']);
    assert.deepEqual(rows(p, 'app').slice(0, 2), ['from:cached', 'install:cached']);
    assert.deepEqual(rows(p, 'app').slice(2), ['importsAfterInstall:unknown', 'importsBeforeSetup:unknown', 'setup:unknown']);
    await project.commit({ 'src/b.txt': 'b\n' }); // back to what was built
  });

  test('with --repo on a fresh machine: manifests only, nothing stored, the same plan', async () => {
    const fresh = await temps.make('plan-fresh');
    const tree = await busyboxTree();
    await storeLocalImage(join(fresh, 'store'), 'local.test/base:1', tree.dir);
    await tree.cleanup();
    await installStapel(fresh);
    const blobsBefore = (await readdir(join(fresh, 'store', 'blobs', 'sha256'))).sort();
    const offset = await logOffset(registry);
    const p = await plan(['--repo', `${registry.host}/plan-stages`], fresh);
    const reqs = await requestsSince(registry, offset);
    assert.ok(reqs.length > 0);
    for (const r of reqs)
      assert.match(
        `${r.method} ${r.uri}`,
        /^(GET|HEAD) \/v2\/(plan-stages\/manifests\/(chain-)?[0-9a-f]{64}|plan\/base\/manifests\/1)?$/,
        JSON.stringify(reqs),
      );
    assert.deepEqual((await readdir(join(fresh, 'store', 'blobs', 'sha256'))).sort(), blobsBefore, 'planning stores no blob');
    assert.ok(built, 'the build of the earlier test');
    for (const img of p.images) {
      assert.deepEqual(
        img.stages.map((s) => s.status),
        img.stages.map(() => 'cached'),
        `${img.name} found in the repository`,
      );
      assert.deepEqual(
        img.stages.map((s) => s.signature),
        built.images.find((i) => i.name === img.name)!.stages.map((s) => s.signature),
        img.name,
      );
    }
    void base;
  });
});
