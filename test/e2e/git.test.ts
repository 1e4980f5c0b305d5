// Git stages end to end on a real repository: gitArchive, stageDependencies, gitLatestPatch,
// gitCache, excluded paths, deletions, uncommitted changes and --dev, rewritten history.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { readFile, access, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { GitProject } from '../support/git-project.js';

const exec = promisify(execFile);

interface Report {
  images: Array<{ name: string; stages: Array<{ name: string; status: string; reason?: string }> }>;
}

const WERF_YAML = `project: gitapp
configVersion: 1
---
image: app
from: local.test/base:1
git:
- add: /
  to: /app
  excludePaths: [docs, werf.yaml]
  stageDependencies:
    install: package.json
    setup: 'src/**/*'
shell:
  install:
  - cp /app/package.json /installed-package.json
  setup:
  - ls /app/src > /setup-listing
`;

describe('git stages', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let work: { path: string; cleanup(): Promise<void> };
  let repo: GitProject;

  before(async () => {
    home = await homeWithLocalBase('git-home');
    work = await tempDir('git-project');
    repo = await GitProject.init(work.path);
    await repo.commit({
      'werf.yaml': WERF_YAML,
      'package.json': '{"name":"app","version":"1"}\n',
      'src/app.js': 'console.log(1)\n',
      'src/lib/util.js': 'export const x = 1\n',
      'README.md': 'readme v1\n',
      'docs/guide.md': 'guide\n',
      'bin/run.sh': '#!/bin/sh\necho run\n',
    });
    await exec('chmod', ['+x', join(work.path, 'bin/run.sh')]);
    await repo.commit({}, 'exec bit');
  });
  after(async () => {
    await home?.cleanup();
    await work?.cleanup();
  });

  async function build(extra: string[] = []): Promise<{ report: Report; stderr: string; code: number }> {
    const reportPath = join(home.path, 'report.json');
    const res = await runCli(['build', '--dir', work.path, '--pull', 'never', '--report-path', reportPath, ...extra], { home: home.path });
    if (res.code !== 0) return { report: { images: [] }, stderr: res.stderr, code: res.code };
    return { report: JSON.parse(await readFile(reportPath, 'utf8')) as Report, stderr: res.stderr, code: 0 };
  }
  const st = (r: Report): Record<string, string> => Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));
  const reason = (r: Report, stage: string): string => r.images[0]!.stages.find((s) => s.name === stage)?.reason ?? '';

  async function rootfs<T>(fn: (root: string) => Promise<T>): Promise<T> {
    const out = await tempDir('git-unpack');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:gitapp/app:latest`, join(out.path, 'b')]);
      return await fn(join(out.path, 'b', 'rootfs'));
    } finally {
      await out.cleanup();
    }
  }

  test('the first build adds the mapping (modes kept, excluded paths left out) and runs the stages', async () => {
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(st(r.report), { from: 'built', gitArchive: 'built', install: 'built', setup: 'built' });
    await rootfs(async (root) => {
      assert.equal(await readFile(join(root, 'app/src/app.js'), 'utf8'), 'console.log(1)\n');
      assert.equal(await readFile(join(root, 'installed-package.json'), 'utf8'), '{"name":"app","version":"1"}\n');
      assert.equal(await readFile(join(root, 'setup-listing'), 'utf8'), 'app.js\nlib\n');
      await assert.rejects(access(join(root, 'app/docs')));
      await assert.rejects(access(join(root, 'app/werf.yaml')));
      const { stdout } = await exec('stat', ['-c', '%a %Y', join(root, 'app/bin/run.sh')]);
      assert.equal(stdout.trim(), '755 1700000120', 'mode from git, mtime = commit time');
    });
  });

  test('nothing changed, or only excluded files changed: everything cached', async () => {
    let r = await build();
    assert.deepEqual(new Set(Object.values(st(r.report))), new Set(['cached']));
    await repo.commit({ 'docs/guide.md': 'guide v2\n' });
    r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(st(r.report), { from: 'cached', gitArchive: 'cached', install: 'cached', setup: 'cached' });
  });

  test('a change outside every stageDependencies mask only adds gitLatestPatch', async () => {
    await repo.commit({ 'README.md': 'readme v2\n' });
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(st(r.report), { from: 'cached', gitArchive: 'cached', install: 'cached', setup: 'cached', gitLatestPatch: 'built' });
    await rootfs(async (root) => assert.equal(await readFile(join(root, 'app/README.md'), 'utf8'), 'readme v2\n'));
  });

  test('a change inside setup masks rebuilds setup with the sources brought up to date first', async () => {
    await repo.commit({ 'src/new.js': 'new\n', 'src/lib/util.js': null });
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    const s = st(r.report);
    assert.equal(s.install, 'cached');
    assert.equal(s.setup, 'built');
    assert.match(
      reason(r.report, 'setup'),
      /setup: stageDependencies files changed: src\/lib\/util\.js, src\/new\.js|setup: stageDependencies files changed: src\/new\.js, src\/lib\/util\.js/,
    );
    assert.equal(s.gitLatestPatch, undefined, 'setup brought everything to the current commit');
    await rootfs(async (root) => {
      assert.equal(await readFile(join(root, 'setup-listing'), 'utf8'), 'app.js\nnew.js\n', 'src/lib became empty and was removed');
      await assert.rejects(access(join(root, 'app/src/lib/util.js')), 'deleted in git, deleted in the image');
      assert.equal(await readFile(join(root, 'app/README.md'), 'utf8'), 'readme v2\n');
    });
  });

  test('a dependency manifest change rebuilds install and everything after it', async () => {
    await repo.commit({ 'package.json': '{"name":"app","version":"2"}\n' });
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(st(r.report), { from: 'cached', gitArchive: 'cached', install: 'built', setup: 'built' });
    await rootfs(async (root) => assert.equal(await readFile(join(root, 'installed-package.json'), 'utf8'), '{"name":"app","version":"2"}\n'));
  });

  test('3 MB of changes since the last built stage go into gitCache', async () => {
    await repo.commit({ 'assets/blob.bin': randomBytes(3 * 1024 * 1024) });
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    const s = st(r.report);
    assert.equal(s.setup, 'cached');
    assert.equal(s.gitCache, 'built');
    assert.equal(s.gitLatestPatch, undefined);
    await repo.commit({ 'README.md': 'readme v3\n' });
    const r2 = await build();
    assert.equal(st(r2.report).gitCache, 'cached', 'still 3 MiB since setup: same bucket');
    assert.equal(st(r2.report).gitLatestPatch, 'built');
  });

  test('uncommitted changes in mapped files are an error naming them; --dev builds them', async () => {
    await writeFile(join(work.path, 'src/app.js'), 'console.log("dirty")\n');
    let r = await build();
    assert.equal(r.code, 1);
    assert.match(r.stderr, /uncommitted changes in files used by the build:\n\s+src\/app\.js/);
    assert.match(r.stderr, /--dev/);
    r = await build(['--dev']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(st(r.report).setup, 'built');
    await rootfs(async (root) => assert.equal(await readFile(join(root, 'app/src/app.js'), 'utf8'), 'console.log("dirty")\n'));
    await repo.git('checkout', '--', 'src/app.js');
  });

  test('a rewritten history whose recorded commit is gone rebuilds gitArchive', async () => {
    await repo.git('checkout', '-q', '--orphan', 'rewritten');
    await repo.commit({}, 'squashed history');
    await repo.git('branch', '-D', 'main');
    await repo.git('reflog', 'expire', '--expire=now', '--all');
    await repo.git('gc', '-q', '--prune=now');
    const r = await build();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(st(r.report).gitArchive, 'built');
  });
});

describe('rebuild reasons name files from the repository root', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let work: { path: string; cleanup(): Promise<void> };
  let repo: GitProject;
  const yaml = `project: gitsub
configVersion: 1
---
image: app
from: local.test/base:1
git:
- add: /services/api
  to: /srv
  stageDependencies:
    setup: ['lib/**/*.js']
shell:
  setup: [ls -R /srv > /listing]
`;

  before(async () => {
    home = await homeWithLocalBase('gitsub-home');
    work = await tempDir('gitsub-project');
    repo = await GitProject.init(work.path);
    await repo.commit({ 'werf.yaml': yaml, 'services/api/lib/a.js': 'a1\n', 'services/api/main.js': 'm\n' });
  });
  after(async () => {
    await home?.cleanup();
    await work?.cleanup();
  });

  async function reasonOf(extra: string[], stage: string): Promise<{ code: number; stderr: string; reason: string }> {
    const reportPath = join(home.path, 'report.json');
    const res = await runCli(['build', '--dir', work.path, '--pull', 'never', '--report-path', reportPath, ...extra], { home: home.path });
    if (res.code !== 0) return { code: res.code, stderr: res.stderr, reason: '' };
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    return { code: 0, stderr: res.stderr, reason: r.images[0]!.stages.find((s) => s.name === stage)?.reason ?? '' };
  }

  test('a mapping of a subdirectory: build, plan and the uncommitted error all say services/api/lib/a.js', async () => {
    assert.equal((await reasonOf([], 'setup')).code, 0);
    await repo.commit({ 'services/api/lib/a.js': 'a2\n' });
    const plan = await runCli(['plan', '--dir', work.path], { home: home.path });
    assert.match(plan.stdout, /setup: stageDependencies files changed: services\/api\/lib\/a\.js$/m);
    const built = await reasonOf([], 'setup');
    assert.equal(built.code, 0, built.stderr);
    assert.equal(built.reason, 'setup: stageDependencies files changed: services/api/lib/a.js');
    await writeFile(join(work.path, 'services/api/lib/a.js'), 'dirty\n');
    const dirty = await reasonOf([], 'setup');
    assert.match(dirty.stderr, /uncommitted changes in files used by the build:\n\s+services\/api\/lib\/a\.js$/m);
    const dev = await reasonOf(['--dev'], 'setup');
    assert.equal(dev.code, 0, dev.stderr);
    assert.equal(dev.reason, 'setup: stageDependencies files changed: services/api/lib/a.js');
  });
});
