// Hostile werf.yaml files: each ends in a clear config error with exit code 2 — no hang, no crash,
// no file from outside the project, bounded time.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';

const META = 'project: hostile\nconfigVersion: 1\n---\n';

describe('hostile configs', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };
  before(async () => {
    home = await tempDir('hostile-home');
    project = await tempDir('hostile-project');
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  async function expectConfigError(yaml: string | Buffer, message: RegExp, files: Record<string, string> = {}): Promise<string> {
    await rm(join(project.path, '.werf'), { recursive: true, force: true });
    await writeFile(join(project.path, 'werf.yaml'), yaml);
    for (const [p, text] of Object.entries(files)) {
      await mkdir(join(project.path, p, '..'), { recursive: true });
      await writeFile(join(project.path, p), text);
    }
    // A hang is caught by the kill after two minutes (exit code 1, not 2), not by timing the run.
    const res = await runCli(['config', 'list', '--dir', project.path], { home: home.path, timeoutMs: 120_000 });
    assert.equal(res.code, 2, `exit code (stderr: ${res.stderr.slice(0, 2000)})`);
    assert.match(res.stderr, /^tsbuild: config error: /);
    assert.match(res.stderr, message);
    assert.doesNotMatch(res.stderr, /internal error| {4}at /, 'no stack trace');
    assert.ok(res.stderr.length < 5000, `the error stays readable (${res.stderr.length} chars)`);
    return res.stderr;
  }

  test('a template that includes itself', async () => {
    await expectConfigError(`${META}{{ define "loop" }}{{ include "loop" . }}{{ end }}image: {{ include "loop" . }}\n`, /exceeded maximum template depth/);
    await expectConfigError(`${META}{{ template "a.tmpl" . }}\n`, /exceeded maximum template depth/, { '.werf/a.tmpl': '{{ template "a.tmpl" . }}' });
  });

  test('100 MB of rendered output', async () => {
    await expectConfigError(`${META}{{ range 100 }}{{ "x" | repeat 1048576 }}{{ end }}\n`, /rendered output exceeds the limit of \d+ bytes/);
  });

  test('.Files.Get of a path or symlink leading outside the project', async () => {
    const stderr = await expectConfigError(`${META}image: a\nfrom: {{ .Files.Get "../../etc/passwd" }}\n`, /outside the project directory/);
    assert.doesNotMatch(stderr, /root:/);
    await rm(join(project.path, 'passwd'), { force: true });
    await symlink('/etc/passwd', join(project.path, 'passwd'));
    assert.doesNotMatch(await expectConfigError(`${META}image: a\nfrom: {{ .Files.Get "passwd" }}\n`, /leads outside the project directory/), /root:/);
    await rm(join(project.path, 'passwd'));
  });

  test('a YAML alias bomb (billion laughs)', async () => {
    const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) {
      const prev = String.fromCharCode(96 + i);
      const name = String.fromCharCode(97 + i);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
    }
    const bomb = `${META}image: a\nfrom: alpine\nansible:\n  install:\n  - ${levels.join('\n    ')}\n`;
    await expectConfigError(bomb, /werf\.yaml:4: invalid YAML: aliases expand to more than \d+ nodes/);
  });

  test('malformed YAML', async () => {
    await expectConfigError(`${META}image: a\nfrom: alpine\nshell:\n  install: [echo, "unterminated\n`, /werf\.yaml:\d+(:\d+)?: invalid YAML/);
    await expectConfigError(`${META}image: a\n  from: alpine\n\tbad: tab\n`, /invalid YAML/);
    await expectConfigError(`${META}- just\n- a list\n`, /werf\.yaml:4: each YAML document must be a mapping/);
  });

  test('deeply nested YAML', async () => {
    await expectConfigError(`${META}image: a\nfrom: alpine\nshell:\n  install: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, /nested too deeply/);
    await expectConfigError(`${META}image: a\nfrom: alpine\nx: ${'{a: '.repeat(20_000)}1${'}'.repeat(20_000)}\n`, /nested too deeply|unknown key "x"/);
  });

  test('a 50 MB config file', async () => {
    const line = `  - echo ${'x'.repeat(90)}\n`;
    await expectConfigError(
      Buffer.from(`${META}image: a\nfrom: alpine\nshell:\n  install:\n${line.repeat(520_000)}`),
      /the config is 49\.\d MiB, more than the 16\.0 MiB tsbuild reads/,
    );
  });

  test('aliases that are not bombs resolve like werf (go-yaml) reads them', async () => {
    await writeFile(
      join(project.path, 'werf.yaml'),
      `${META}image: b\nfrom: &base alpine:3.20\nfromCacheVersion: *base\nshell:\n  install: &steps [echo one, echo two]\n  setup: *steps\n`,
    );
    const res = await runCli(['config', 'list', '--dir', project.path], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /b\s+image\s+alpine:3\.20/);
  });
});
