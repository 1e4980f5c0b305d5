// Two images of one config whose stages have the same signature: the stage is built once, the
// other image waits for it and continues from it (one signature, one content), and says so.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

let home: { path: string; cleanup(): Promise<void> };
let project: { path: string; cleanup(): Promise<void> };
before(async () => {
  home = await homeWithLocalBase('shared-home');
  project = await tempDir('shared-project');
});
after(async () => {
  await home?.cleanup();
  await project?.cleanup();
});

interface Report {
  images: Array<{ name: string; stages: Array<{ name: string; signature: string; status: string; reason?: string }> }>;
}

test('a stage two images share is built once; the other image reuses it, naming why', async () => {
  // Both images: the same base and the same install (it writes random bytes: two builds would differ).
  const image = (name: string, setup: string): string =>
    `---\nimage: ${name}\nfrom: local.test/base:1\nshell:\n  install: [head -c 4096 /dev/urandom > /rand]\n  setup: [${setup}]\n`;
  await writeFile(join(project.path, 'werf.yaml'), `project: shared\nconfigVersion: 1\n${image('a', 'echo a > /who')}${image('b', 'echo b > /who')}`);
  const reportPath = join(home.path, 'report.json');
  const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--parallel', '2', '--report-path', reportPath], { home: home.path });
  assert.equal(res.code, 0, res.stderr);
  const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
  const installs = report.images.map((i) => i.stages.find((s) => s.name === 'install')!);
  assert.equal(installs[0]!.signature, installs[1]!.signature);
  assert.deepEqual(installs.map((s) => s.status).sort(), ['built', 'cached']);
  const reused = installs.find((s) => s.status === 'cached')!;
  // Planned before the other image stored it (both are planned first), so it was found after waiting.
  assert.match(reused.reason ?? '', /^built meanwhile by another image of this build or another build of this home$/);
  const rand = async (name: string): Promise<string> =>
    (await runCli(['run', '--dir', project.path, name, '--', 'sha256sum', '/rand'], { home: home.path })).stdout;
  assert.equal(await rand('a'), await rand('b'));
});
