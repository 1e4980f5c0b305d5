// werf v2 imageSpec on the final image config (after docker:), checked with umoci's view of it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';

const exec = promisify(execFile);
let home: { path: string; cleanup(): Promise<void> };
let project: { path: string; cleanup(): Promise<void> };

before(async () => {
  home = await tempDir('spec-home');
  project = await tempDir('spec-project');
  const tree = await busyboxTree();
  try {
    await storeLocalImage(join(home.path, 'store'), 'local.test/base:1', tree.dir, {
      Env: ['PATH=/bin', 'DROP_ME=1'],
      Labels: { 'old.label': 'x', 'vendor.a': '1' },
      Cmd: ['sh'],
    });
  } finally {
    await tree.cleanup();
  }
});
after(async () => {
  await home?.cleanup();
  await project?.cleanup();
});

test('imageSpec rewrites the final config: env with references, labels with %image%, removals, entrypoint resets cmd', async () => {
  await writeFile(
    join(project.path, 'werf.yaml'),
    `project: spec
configVersion: 1
build:
  imageSpec:
    author: Platform Team
    config:
      labels: {org.team: platform}
---
image: api
from: local.test/base:1
shell:
  install: [echo hi > /hi]
docker:
  ENV: {FROM_DOCKER: "1"}
imageSpec:
  config:
    env: {APP_PATH: "\${PATH}:/app/bin"}
    removeEnv: [DROP_ME]
    labels: {org.image: "%image%"}
    removeLabels: ["/^vendor\\\\./"]
    entrypoint: [/bin/sh, -c]
    workingDir: /srv
    user: "1000"
    expose: ["8080"]
    volumes: [/data]
    stopSignal: SIGTERM
`,
  );
  const reportPath = join(project.path, 'report.json');
  const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--report-path', reportPath], { home: home.path });
  assert.equal(res.code, 0, res.stderr);
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string }> }> };
  assert.deepEqual(
    report.images[0]!.stages.map((s) => s.name),
    ['from', 'install', 'dockerInstructions', 'imageSpec'],
  );
  const { stdout } = await exec('skopeo', ['inspect', '--config', `oci:${join(home.path, 'store')}:spec/api:latest`]);
  const cfg = JSON.parse(stdout) as {
    author?: string;
    config: {
      Env: string[];
      Labels: Record<string, string>;
      Entrypoint: string[];
      Cmd?: string[] | null;
      WorkingDir: string;
      User: string;
      ExposedPorts: object;
      Volumes: object;
      StopSignal: string;
    };
  };
  assert.equal(cfg.author, 'Platform Team');
  assert.deepEqual(cfg.config.Env, ['PATH=/bin', 'FROM_DOCKER=1', 'APP_PATH=/bin:/app/bin']);
  assert.deepEqual(cfg.config.Labels, { 'old.label': 'x', 'org.team': 'platform', 'org.image': 'api' });
  assert.deepEqual(cfg.config.Entrypoint, ['/bin/sh', '-c']);
  assert.ok(cfg.config.Cmd === undefined || cfg.config.Cmd === null, 'entrypoint without cmd clears cmd');
  assert.equal(cfg.config.WorkingDir, '/srv');
  assert.equal(cfg.config.User, '1000');
  assert.deepEqual(Object.keys(cfg.config.ExposedPorts), ['8080/tcp']);
  assert.deepEqual(Object.keys(cfg.config.Volumes), ['/data']);
  assert.equal(cfg.config.StopSignal, 'SIGTERM');
});
