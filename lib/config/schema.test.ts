import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from './schema.js';
import { splitAndParse } from './yaml-docs.js';
import { ConfigError } from '../errors.js';

function load(text: string) {
  return buildConfig(splitAndParse(text, '/p/werf.yaml'), '/p/werf.yaml', '/p', text);
}

function fails(text: string, message: RegExp, line?: number): ConfigError {
  try {
    load(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.match(err.message, message);
    if (line !== undefined) assert.equal(err.line, line, err.message);
    return err;
  }
  assert.fail('expected a config error');
}

const META = 'project: demo\nconfigVersion: 1\n---\n';

test('a minimal config normalises shell stages to lists and keeps scalar text as written', () => {
  const cfg = load(`${META}image: app\nfrom: alpine:3.20\nshell:\n  install: echo hi\n  setup:\n  - a\n  - b\n  installCacheVersion: 1.10\n`);
  assert.equal(cfg.project, 'demo');
  const img = cfg.images[0]!;
  assert.equal(img.name, 'app');
  assert.equal(img.from, 'alpine:3.20');
  assert.equal(img.instructions?.kind, 'shell');
  assert.deepEqual(img.instructions?.stages, { beforeInstall: [], install: ['echo hi'], beforeSetup: [], setup: ['a', 'b'] });
  assert.equal(img.instructions?.stageCacheVersions.install, '1.10');
});

test('unknown keys are rejected with a suggestion and the line', () => {
  const err = fails(`${META}image: app\nfrom: alpine\nshel:\n  install: x\n`, /unknown key "shel" in image "app" — did you mean "shell"\?/, 6);
  assert.match(err.hint ?? '', /supported keys/);
  fails(`${META}image: app\nfrom: alpine\nshell:\n  instal: x\n`, /did you mean "install"/, 7);
  fails(`${META}image: app\nfrom: alpine\ndocker:\n  CMDD: x\n`, /did you mean "CMD"/, 7);
});

test('meta keys not about building are accepted and ignored', () => {
  const cfg = load(
    'project: demo\nconfigVersion: 1\ndeploy:\n  helmRelease: x\ncleanup:\n  keepPolicies: []\ngitWorktree:\n  forceShallowClone: true\n---\nimage: a\nfrom: alpine\n',
  );
  assert.equal(cfg.images.length, 1);
});

test('werf validations: from required, from conflicts, shell+ansible, configVersion, project name', () => {
  fails(`${META}image: app\nshell:\n  install: x\n`, /`from: DOCKER_IMAGE`.*required/);
  fails(`${META}image: app\nfrom: a\nfromImage: b\n---\nimage: b\nfrom: c\n`, /conflict between `from`, `fromImage`/);
  fails(`${META}image: app\nfrom: a\nshell: {install: x}\nansible: {install: []}\n`, /can not use shell and ansible/);
  fails('project: demo\nconfigVersion: 2\n', /configVersion: 1' field required/, 2);
  fails('project: Demo_X\nconfigVersion: 1\n', /project name "Demo_X" is invalid/);
  fails('image: a\nfrom: b\n', /meta section is missing/);
});

test('Dockerfile images are rejected naming the image', () => {
  fails(`${META}image: web\ndockerfile: Dockerfile\n`, /image "web" is a Dockerfile image/, 5);
});

test('references to unknown images, self references, duplicates and cycles are reported', () => {
  fails(`${META}image: a\nfromImage: nope\n`, /image "nope" referenced in "fromImage" not found/);
  fails(`${META}image: a\nfrom: x\n---\nimage: a\nfrom: y\n`, /duplicate image name "a"/);
  fails(`${META}image: a\nfromImage: b\n---\nimage: b\nfromImage: a\n`, /infinite loop detected: a -> b -> a/);
  fails(`${META}image: a\nfromImage: a\n`, /references itself/);
});

test('YAML errors point at the rendered line', () => {
  fails(`${META}image: a\nfrom: b\nshell:\n  install: [x\n`, /invalid YAML/);
  fails(`${META}image: a\nfrom: b\nfrom: c\n`, /invalid YAML.*[Mm]ap keys must be unique/, 6);
});

test('YAML 1.1 booleans as werf reads them', () => {
  const cfg = load(`${META}image: a\nfrom: b\nfromLatest: yes\n`);
  assert.equal(cfg.images[0]!.fromLatest, true);
});

test('git mappings, imports and mounts are validated and normalised', () => {
  const cfg = load(
    `${META}image: a\nfrom: b\ngit:\n- add: /src/\n  to: /app/\n  includePaths: ['**/*.js', './lib/']\n  stageDependencies:\n    install: package.json\nmount:\n- from: tmp_dir\n  to: /var/cache\n`,
  );
  const g = cfg.images[0]!.git[0]!;
  assert.equal(g.add, '/src');
  assert.equal(g.to, '/app');
  assert.deepEqual(g.includePaths, ['**/*.js', 'lib']);
  assert.deepEqual(g.stageDependencies.install, ['package.json']);
  fails(`${META}image: a\nfrom: b\ngit:\n- add: /\n  to: /app\n  branch: main\n`, /only for remote git/);
  fails(`${META}image: a\nfrom: b\ngit:\n- add: /\n  to: app\n`, /"to" must be an absolute path/);
  fails(`${META}image: a\nfrom: b\nmount:\n- from: tmp_dir\n  to: /x\n- from: build_dir\n  to: /x\n`, /conflict between mounts/);
  fails(`${META}image: a\nfrom: b\ngit:\n- to: /app\n  includePaths: ../x\n`, /must not leave "add"/);
});

test('network is host or none: a misspelt "none" is an error, never the host network', () => {
  const err = fails(`${META}image: app\nfrom: alpine:3.20\nnetwork: nnone\n`, /network "nnone" is not supported/, 6);
  assert.match(err.hint ?? '', /network: none/);
  assert.equal(load(`${META}image: app\nfrom: alpine:3.20\nnetwork: none\n`).images[0]!.network, 'none');
  assert.equal(load(`${META}image: app\nfrom: alpine:3.20\nnetwork: host\n`).images[0]!.network, 'host');
});
