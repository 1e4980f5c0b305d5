// Remote git mappings: a repository served by `git daemon` on 127.0.0.1 and one from a local path.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { GitProject } from '../support/git-project.js';
import { startGitDaemon, type GitDaemon } from '../support/git-daemon.js';

const exec = promisify(execFile);

describe('remote git mappings', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let served: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };
  let daemon: GitDaemon | undefined;
  let host = '';
  let upstream: GitProject;

  before(async () => {
    home = await homeWithLocalBase('rg-home');
    served = await tempDir('rg-served');
    project = await tempDir('rg-project');
    upstream = await GitProject.init(join(served.path, 'work'));
    await upstream.commit({ 'lib/a.txt': 'v1\n' }, 'v1');
    await upstream.git('tag', 'v1');
    await exec('git', ['clone', '-q', '--bare', join(served.path, 'work'), join(served.path, 'lib.git')]);
    daemon = await startGitDaemon(served.path);
    host = daemon.host;
  });
  after(async () => {
    await daemon?.stop();
    await home?.cleanup();
    await served?.cleanup();
    await project?.cleanup();
  });

  const yaml = (url: string, ref: string): string => `project: rg
configVersion: 1
---
image: app
from: local.test/base:1
git:
- url: ${url}
  ${ref}
  add: /lib
  to: /opt/lib
shell:
  setup: [cat /opt/lib/a.txt > /seen]
`;

  async function build(text: string) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(project.path, 'werf.yaml'), text);
    const reportPath = join(home.path, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--report-path', reportPath], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    return Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));
  }

  test('a branch served by git daemon is cloned, then fetched: a new upstream commit reaches the image', async () => {
    const url = `git://${host}/lib.git`;
    let st = await build(yaml(url, 'branch: main'));
    assert.equal(st.gitArchive, 'built');
    await upstream.commit({ 'lib/a.txt': 'v2\n' }, 'v2');
    await exec('git', ['push', '-q', join(served.path, 'lib.git'), 'main'], { cwd: join(served.path, 'work') });
    st = await build(yaml(url, 'branch: main'));
    assert.equal(st.gitArchive, 'cached');
    assert.equal(st.gitLatestPatch, 'built');
    const out = await tempDir('rg-unpack');
    try {
      await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:rg/app:latest`, join(out.path, 'b')]);
      assert.equal(await readFile(join(out.path, 'b/rootfs/opt/lib/a.txt'), 'utf8'), 'v2\n');
    } finally {
      await out.cleanup();
    }
  });

  test('a tag of a repository given by local path', async () => {
    const st = await build(yaml(join(served.path, 'lib.git'), 'tag: v1'));
    assert.equal(st.setup, 'built');
  });

  test('a remote that cannot be cloned fails the build naming the image and the line of its mapping', async () => {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(join(project.path, 'werf.yaml'), yaml(join(served.path, 'missing.git'), 'branch: main'));
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /error: image "app": git clone of \S*missing\.git failed: .*\(git mapping at \S*werf\.yaml:7\)/);
    assert.match(res.stderr, /hint: check the URL/);
  });
});
