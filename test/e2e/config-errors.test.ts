// Bad config gets a clear error with file:line and exit code 2; render and config list work.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';

describe('config errors and rendering', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };
  before(async () => {
    home = await tempDir('cfg-home');
    project = await tempDir('cfg-project');
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  async function cli(yaml: string, args: string[], files: Record<string, string> = {}) {
    await writeFile(join(project.path, 'werf.yaml'), yaml);
    for (const [p, text] of Object.entries(files)) {
      await mkdir(join(project.path, p, '..'), { recursive: true });
      await writeFile(join(project.path, p), text);
    }
    return runCli([...args, '--dir', project.path], { home: home.path, env: { APP_VERSION: '1.2.3' } });
  }

  test('templates render with env, .Files, include and .werf/*.tmpl; config list shows the images', async () => {
    const yaml = `project: cfg
configVersion: 1
---
{{- $versions := .Files.Get "versions.yaml" | fromYaml }}
{{- range $name := list "api" "worker" }}
---
image: {{ $name }}
from: alpine:{{ $versions.alpine }}
shell:
  install:
  {{- include "common/install.tmpl" $ | nindent 2 }}
  - echo {{ env "APP_VERSION" }} > /version
{{- end }}
`;
    const res = await cli(yaml, ['render'], { 'versions.yaml': 'alpine: "3.20"\n', '.werf/common/install.tmpl': '- apk add --no-cache curl' });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /image: worker\nfrom: alpine:3\.20\nshell:\n {2}install:\n {2}- apk add --no-cache curl\n {2}- echo 1\.2\.3 > \/version/);
    const list = await cli(yaml, ['config', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /api\s+image\s+alpine:3\.20/);
    assert.match(list.stdout, /worker\s+image\s+alpine:3\.20/);
  });

  test('a template error names werf.yaml and the line, exit code 2', async () => {
    let res = await cli('project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: {{ required "base image name needed" .Base }}\n', ['config', 'list']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /werf\.yaml:5:\d+: template: werf\.yaml:5:\d+: .*base image name needed/);
    res = await cli('project: cfg\nconfigVersion: 1\n---\n{{ if }}\n', ['render']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /werf\.yaml:4: template: werf\.yaml:4: missing value for if/);
  });

  test('an unset env variable: the hint says set it or give a default, naming file:line, for build and render alike', async () => {
    const yaml = 'project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\nshell:\n  install:\n  - echo {{ env "TSB_TEST_UNSET_TAG" }}\n';
    for (const cmd of [['build', '--dry-run'], ['render']]) {
      const res = await cli(yaml, cmd);
      assert.equal(res.code, 2, res.stderr);
      assert.match(res.stderr, /tsbuild: config error: .*werf\.yaml:8:\d+: .*"TSB_TEST_UNSET_TAG" must be set or default must be provided/);
      assert.match(
        res.stderr,
        /^hint: set TSB_TEST_UNSET_TAG in the environment \(`export TSB_TEST_UNSET_TAG=VALUE`\), or give it a default in the template: \{\{ env "TSB_TEST_UNSET_TAG" "DEFAULT" \}\} \(werf\.yaml:8\)$/m,
      );
      assert.doesNotMatch(res.stderr, /tsbuild render/, `${cmd[0]}: render fails the same way, so the hint does not send the user there`);
    }
    // Inside an included .werf template the hint names that file and its line.
    const res = await cli(
      'project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\nshell:\n  install:\n  {{- include "parts/tag.tmpl" . | nindent 2 }}\n',
      ['render'],
      {
        '.werf/parts/tag.tmpl': '# the tag\n- echo {{ env "TSB_TEST_UNSET_TAG" }}\n',
      },
    );
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /^hint: set TSB_TEST_UNSET_TAG .* \(\.werf\/parts\/tag\.tmpl:2\)$/m);
    // Any other template error: the line to fix, no pointer to render.
    const other = await cli('project: cfg\nconfigVersion: 1\n---\n{{ if }}\n', ['render']);
    assert.match(other.stderr, /^hint: fix the template at werf\.yaml:4$/m);
  });

  test('env without default fails clearly; .Files.Get outside the project is refused', async () => {
    let res = await cli('project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: {{ env "SURELY_UNSET_VAR_X" }}\n', ['render']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /SURELY_UNSET_VAR_X/);
    res = await cli('project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: x\n# {{ .Files.Get "../../etc/passwd" }}\n', ['render']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /outside the project/);
    assert.doesNotMatch(res.stderr, /root:x:0/);
  });

  test('schema errors point at the rendered line with a suggestion; Dockerfile images are named', async () => {
    let res = await cli('project: cfg\nconfigVersion: 1\n---\nimage: a\nfrom: alpine\nshel:\n  install: x\n', ['build']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /werf\.yaml:6:1: unknown key "shel" in image "a" — did you mean "shell"\?/);
    res = await cli('project: cfg\nconfigVersion: 1\n---\nimage: web\ndockerfile: Dockerfile\n', ['build']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /image "web" is a Dockerfile image/);
  });

  test('errors in rendered text name the template line that produced it', async () => {
    const yaml =
      'project: cfg\nconfigVersion: 1\n{{- range $n := list "a" "b" }}\n---\nimage: {{ $n }}\nfrom: alpine\nshell:\n  install:\n  {{- include "steps.tmpl" . | nindent 2 }}\n{{- end }}\n{{ tpl (.Files.Get "parts/c.yaml") . }}\n';
    let res = await cli(yaml, ['config', 'list'], { '.werf/steps.tmpl': '- echo one\nshel: x\n', 'parts/c.yaml': '---\nimage: c\nfrom: alpine\n' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /\.werf\/steps\.tmpl:2: \(rendered line 9\) unknown key "shel" in image "a" shell/);
    res = await cli(yaml, ['config', 'list'], { '.werf/steps.tmpl': '- echo one\n', 'parts/c.yaml': '---\nimage: c\nfrom: alpine\nfromImge: a\n' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /parts\/c\.yaml:4: \(rendered line \d+\) unknown key "fromImge" in image "c" — did you mean "fromImage"\?/);
    res = await cli(yaml.replace('from: alpine', 'from: alpine\ndockr: {}'), ['config', 'list'], { 'parts/c.yaml': '' });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /werf\.yaml:7: \(rendered line 6\) unknown key "dockr" in image "a" — did you mean "docker"\?/);
  });

  test('recursion and runaway output end in a clear error', async () => {
    let res = await cli('{{ define "x" }}{{ include "x" . }}{{ end }}{{ include "x" . }}', ['render']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /depth|recursion|nested/i);
    assert.ok(res.stderr.length < 4000, 'the error stays readable');
    res = await cli('{{ range $i := 100000000 }}xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx{{ end }}', ['render']);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /output|bytes|too large|limit/i);
  });
});
