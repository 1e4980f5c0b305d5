// import from artifacts/images (content checksums), dependencies env injection.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, access, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const exec = promisify(execFile);

interface Report {
  images: Array<{ name: string; stages: Array<{ name: string; status: string; reason?: string }> }>;
}

describe('imports and dependencies', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await homeWithLocalBase('imp-home');
    project = await tempDir('imp-project');
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  const yaml = (artifactSetup: string[]): string => `project: imp
configVersion: 1
---
artifact: builder
from: local.test/base:1
shell:
  setup:
${artifactSetup.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}
---
image: other
from: local.test/base:1
shell:
  install:
  - echo other > /other.txt
---
image: app
from: local.test/base:1
import:
- artifact: builder
  add: /out/app
  to: /srv/app
  includePaths: [bin.sh, data]
  after: install
- artifact: builder
  add: /out/app/bin.sh
  to: /usr/local/bin/app
  owner: "1000"
  before: setup
dependencies:
- image: other
  after: setup
  imports:
  - type: ImageName
    targetEnv: OTHER_IMAGE
  - type: ImageDigest
    targetEnv: OTHER_DIGEST
shell:
  install:
  - echo installed > /installed.txt
---
image: derived
from: other
shell:
  setup: [cat /other.txt > /derived.txt]
`;
  const baseSetup = [
    'mkdir -p /out/app/data',
    'echo "#!/bin/sh" > /out/app/bin.sh',
    'chmod 755 /out/app/bin.sh',
    'echo x > /out/app/data/x.txt',
    'echo noise > /out/app/skip.log',
    'ln -s data/x.txt /out/app/link',
  ];

  async function build(artifactSetup: string[]): Promise<Report> {
    await writeFile(join(project.path, 'werf.yaml'), yaml(artifactSetup));
    const reportPath = join(project.path, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--report-path', reportPath], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    return JSON.parse(await readFile(reportPath, 'utf8')) as Report;
  }
  const stagesOf = (r: Report, name: string): Record<string, string> =>
    Object.fromEntries(r.images.find((i) => i.name === name)!.stages.map((s) => [s.name, s.status]));

  test('imported files follow add/to/includePaths/owner; dependencies set env', async () => {
    const r = await build(baseSetup);
    assert.deepEqual(Object.keys(stagesOf(r, 'app')), ['from', 'install', 'importsAfterInstall', 'importsBeforeSetup', 'importsAfterSetup']);
    // `from: other` names an image of this file (werf v2), not a registry image.
    assert.deepEqual(stagesOf(r, 'derived'), { from: 'built', setup: 'built' });
    const out = await tempDir('imp-out');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:imp/app:latest`, join(out.path, 'b')]);
      const root = join(out.path, 'b', 'rootfs');
      assert.equal(await readFile(join(root, 'srv/app/data/x.txt'), 'utf8'), 'x\n');
      assert.equal(await readFile(join(root, 'srv/app/bin.sh'), 'utf8'), '#!/bin/sh\n');
      await assert.rejects(access(join(root, 'srv/app/skip.log')), 'excluded by includePaths');
      await assert.rejects(access(join(root, 'srv/app/link')), 'not in includePaths');
      assert.equal(await readFile(join(root, 'usr/local/bin/app'), 'utf8'), '#!/bin/sh\n');
      const cfg = JSON.parse(await readFile(join(out.path, 'b', 'config.json'), 'utf8')) as { process: { env: string[] } };
      assert.ok(cfg.process.env.includes('OTHER_IMAGE=imp/other:latest'), cfg.process.env.join(' '));
      assert.ok(cfg.process.env.some((e) => /^OTHER_DIGEST=sha256:[0-9a-f]{64}$/.test(e)));
      const { stdout } = await exec('ls', ['-ln', join(root, 'usr/local/bin/app')]);
      assert.match(stdout, /^\S+\s+\d+\s+1000\s/);
    } finally {
      await out.cleanup();
    }
    void readlink;
  });

  test('image list marks the artifact as not final; images stay final', async () => {
    const table = await runCli(['image', 'list'], { home: home.path });
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^imp\/builder:latest +artifact \(not final\) +sha256:/m);
    assert.match(table.stdout, /^imp\/app:latest +final +sha256:/m);
    const rows = JSON.parse((await runCli(['image', 'list', '--format', 'json'], { home: home.path })).stdout) as Array<{ name: string; kind: string }>;
    assert.deepEqual(
      rows.filter((r) => r.name.startsWith('imp/')).map((r) => [r.name, r.kind]),
      [
        ['imp/app:latest', 'final'],
        ['imp/builder:latest', 'artifact (not final)'],
        ['imp/derived:latest', 'final'],
        ['imp/other:latest', 'final'],
      ],
    );
  });

  test('an artifact rebuilt with identical output does not rebuild the importer; changed output does', async () => {
    let r = await build([...baseSetup, 'echo rebuilt but same output']);
    assert.equal(stagesOf(r, 'builder').setup, 'built');
    assert.deepEqual(new Set(Object.values(stagesOf(r, 'app'))), new Set(['cached']));
    r = await build([...baseSetup, 'echo y > /out/app/data/x.txt']);
    const app = stagesOf(r, 'app');
    assert.equal(app.install, 'cached');
    assert.equal(app.importsAfterInstall, 'built');
    const reason = r.images.find((i) => i.name === 'app')!.stages.find((s) => s.name === 'importsAfterInstall')!.reason ?? '';
    assert.match(reason, /imports changed/);
  });

  test('an import owner the image does not know fails naming the image, the import and its line', async () => {
    await writeFile(
      join(project.path, 'werf.yaml'),
      `project: imp
configVersion: 1
---
image: src
from: local.test/base:1
---
image: dst
from: local.test/base:1
import:
- image: src
  add: /etc/passwd
  to: /copied
  owner: nosuchuser
  after: install
`,
    );
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /error: image "dst", import of image "src" at \S*werf\.yaml:10: user "nosuchuser" does not exist in the image's \/etc\/passwd/);
    assert.match(res.stderr, /hint: create it in an earlier stage or use a numeric id/);
  });
});
