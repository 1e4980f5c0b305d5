// werf-spec §10's worked example, commit by commit: which stages are rebuilt at C1…C5.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { GitProject } from '../support/git-project.js';

const WERF_YAML = `project: demo
configVersion: 1
---
image: app
from: local.test/base:1
git:
- add: /
  to: /app
  excludePaths: [werf.yaml]
  stageDependencies:
    install: [package.json, package-lock.json]
shell:
  beforeInstall: [mkdir -p /opt/tools]
  install: [cd /app && cat package.json package-lock.json > /deps-installed]
  setup: [cd /app && ls -R src > /build-output]
docker: {WORKDIR: /app}
`;

type Row = Record<string, string>;

describe('werf-spec §10 worked example', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let work: { path: string; cleanup(): Promise<void> };
  let repo: GitProject;

  before(async () => {
    home = await homeWithLocalBase('wx-home');
    work = await tempDir('wx-project');
    repo = await GitProject.init(work.path);
  });
  after(async () => {
    await home?.cleanup();
    await work?.cleanup();
  });

  async function build(): Promise<Row> {
    const reportPath = join(home.path, 'report.json');
    const res = await runCli(['build', '--dir', work.path, '--pull', 'never', '--report-path', reportPath], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    return Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));
  }

  test('C1 builds everything; no git patch stages on a fresh build', async () => {
    await repo.commit({ 'werf.yaml': WERF_YAML, 'package.json': '{}\n', 'package-lock.json': '{"v":1}\n', 'src/x.js': 'x1\n' }, 'C1');
    assert.deepEqual(await build(), {
      from: 'built',
      beforeInstall: 'built',
      gitArchive: 'built',
      install: 'built',
      setup: 'built',
      dockerInstructions: 'built',
    });
  });

  test('C2 edits src/x.js: only gitLatestPatch and dockerInstructions are built', async () => {
    await repo.commit({ 'src/x.js': 'x2\n' }, 'C2');
    assert.deepEqual(await build(), {
      from: 'cached',
      beforeInstall: 'cached',
      gitArchive: 'cached',
      install: 'cached',
      setup: 'cached',
      gitLatestPatch: 'built',
      dockerInstructions: 'built',
    });
  });

  test('C3 edits package.json: install (patched C1→C3) and setup rebuild; no patch stage', async () => {
    await repo.commit({ 'package.json': '{"dependencies":{}}\n' }, 'C3');
    // The plan says what will be built and why, without running anything.
    const plan = await runCli(['plan', '--dir', work.path], { home: home.path });
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /app\s+install\s+[0-9a-f]{12}\s+to-build\s+install: stageDependencies files changed: package\.json/);
    assert.match(plan.stdout, /app\s+beforeInstall\s+[0-9a-f]{12}\s+cached/);
    assert.deepEqual(await build(), {
      from: 'cached',
      beforeInstall: 'cached',
      gitArchive: 'cached',
      install: 'built',
      setup: 'built',
      dockerInstructions: 'built',
    });
  });

  test('C4 adds 3 MB of files: gitCache carries them, nothing else below is rebuilt', async () => {
    await repo.commit({ 'assets/a.bin': randomBytes(1536 * 1024), 'assets/b.bin': randomBytes(1536 * 1024) }, 'C4');
    assert.deepEqual(await build(), {
      from: 'cached',
      beforeInstall: 'cached',
      gitArchive: 'cached',
      install: 'cached',
      setup: 'cached',
      gitCache: 'built',
      dockerInstructions: 'built',
    });
  });

  test('C5 on a rebased history where C1 is gone: gitArchive and everything after it rebuild', async () => {
    await repo.git('checkout', '-q', '--orphan', 'rebased');
    await repo.commit({ 'src/x.js': 'x5\n' }, 'C5');
    await repo.git('branch', '-D', 'main');
    await repo.git('reflog', 'expire', '--expire=now', '--all');
    await repo.git('gc', '-q', '--prune=now');
    const row = await build();
    assert.equal(row.from, 'cached');
    assert.equal(row.beforeInstall, 'cached');
    assert.equal(row.gitArchive, 'built');
    assert.equal(row.install, 'built');
    assert.equal(row.setup, 'built');
  });
});
