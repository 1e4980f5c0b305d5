// werf v2 keys and the rest of werf-spec §3: image lists, imageSpec, secrets, platform, basicAuth,
// import from, meta build/deploy/cleanup/gitWorktree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildConfig } from './schema.js';
import { splitAndParse } from './yaml-docs.js';
import { ConfigError } from '../errors.js';

const load = (text: string) => buildConfig(splitAndParse(text, '/p/werf.yaml'), '/p/werf.yaml', '/p', text);

function fails(text: string, message: RegExp, line?: number): void {
  assert.throws(
    () => load(text),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.match(err.message, message);
      if (line !== undefined) assert.equal(err.line, line, err.message);
      return true;
    },
  );
}

const META = 'project: demo\nconfigVersion: 1\n---\n';

test('image: [a, b] creates identical images, each referable by name', () => {
  const cfg = load(`${META}image: [api, worker]\nfrom: alpine\nshell:\n  install: [echo hi]\n---\nimage: tests\nfromImage: worker\n`);
  assert.deepEqual(
    cfg.images.map((i) => i.name),
    ['api', 'worker', 'tests'],
  );
  assert.deepEqual(cfg.images[0]!.instructions, { ...cfg.images[1]!.instructions });
  assert.equal(cfg.images[1]!.from, 'alpine');
  fails(`${META}image: [a, a]\nfrom: x\n`, /duplicate image name "a" in the `image` list/, 4);
  fails(`${META}image: []\nfrom: x\n`, /names no image/);
  fails(`${META}image: [a]\nfrom: x\n---\nimage: a\nfrom: y\n`, /duplicate image name "a"/, 7);
  fails(`${META}image: {a: 1}\nfrom: x\n`, /invalid image name/);
});

test("image and artifact exclusions use werf's wording", () => {
  fails(`${META}image: a\nartifact: b\nfrom: x\n`, /one and only one of `image: NAME` or `artifact: NAME`/);
  fails(`${META}image: ""\nfrom: x\n`, /one of `image: NAME` or `artifact: NAME` non-empty name required/);
  fails(`${META}artifact: a\nfrom: x\ndocker:\n  WORKDIR: /\n`, /`docker` section is not supported for artifact/, 6);
  fails(`${META}artifact: a\nfrom: x\nfinal: false\n`, /`final` directive is not supported for artifact/);
  fails(`${META}artifact: a\nfrom: x\ndependencies:\n- image: b\n  before: setup\n---\nimage: b\nfrom: y\n`, /dependencies are not supported for artifacts/);
  fails(`${META}image: a\nfrom: x\nfromArtifact: y\n`, /conflict between `from`, `fromImage` and `fromArtifact` directives/);
});

test('imageSpec is normalised, merged with meta build.imageSpec for final images, %project%/%image% substituted', () => {
  const cfg = load(`project: demo
configVersion: 1
build:
  platform: [linux/amd64]
  imageSpec:
    author: Team
    config:
      labels: {org: acme, "%project%/built": "yes"}
      removeLabels: [old]
---
image: app
from: alpine
platform: [linux/arm64/v8]
imageSpec:
  clearHistory: true
  config:
    user: "1000"
    cmd: [run, --fast]
    entrypoint: ["/bin/tini", "--"]
    workingDir: /app
    stopSignal: SIGTERM
    env: {PATH: "/app/bin:$PATH"}
    expose: ["8080/tcp"]
    volumes: [/data]
    labels: {app: "%image%"}
    healthcheck: {test: [CMD, curl, -f, http://localhost/], interval: 5, retries: 3}
    removeEnv: [DEBUG]
    removeLabels: ["/^org\\\\.opencontainers\\\\./"]
    removeVolumes: [/tmp]
    keepEssentialWerfLabels: true
---
image: builder
from: golang
final: false
imageSpec:
  config:
    labels: {stage: build}
`);
  const app = cfg.images[0]!;
  assert.deepEqual(app.platform, ['linux/arm64/v8']);
  assert.equal(cfg.images[1]!.platform[0], 'linux/amd64', 'meta build.platform is the default');
  const spec = app.imageSpec!;
  assert.equal(spec.author, 'Team');
  assert.equal(spec.clearHistory, true);
  assert.deepEqual(spec.config.cmd, ['run', '--fast']);
  assert.deepEqual(spec.config.entrypoint, ['/bin/tini', '--']);
  assert.equal(spec.config.user, '1000');
  assert.deepEqual(spec.config.labels, { org: 'acme', 'demo/built': 'yes', app: 'app' });
  assert.deepEqual(spec.config.removeLabels, ['old', '/^org\\.opencontainers\\./']);
  assert.deepEqual(spec.config.healthcheck, { test: ['CMD', 'curl', '-f', 'http://localhost/'], interval: 5, retries: 3 });
  assert.equal(spec.config.keepEssentialWerfLabels, true);
  assert.deepEqual(cfg.images[1]!.imageSpec!.config.labels, { stage: 'build' }, 'meta imageSpec is not merged into non-final images');
  assert.equal(cfg.meta.build.imageSpec?.author, 'Team');
  fails(`${META}image: a\nfrom: x\nimageSpec:\n  config:\n    cmd: run\n`, /"cmd" must be a list of strings/);
  fails(`${META}image: a\nfrom: x\nimageSpec:\n  config:\n    workinDir: /x\n`, /unknown key "workinDir".*did you mean "workingDir"/, 8);
  fails(`${META}image: a\nfrom: x\nimageSpec:\n  config:\n    healthcheck: {test: [curl]}\n`, /must start with NONE, CMD or CMD-SHELL/);
  fails(`${META}image: a\nfrom: x\nimageSpec:\n  config:\n    removeLabels: ["/[/"]\n`, /invalid regular expression/);
  fails(`${META}image: a\nfrom: x\nplatform: [amd64]\n`, /invalid platform "amd64"/);
});

test('secrets: env, src or value; ids default like werf; duplicates rejected', () => {
  const cfg = load(`${META}image: a\nfrom: x\nsecrets:\n- env: NPM_TOKEN\n- src: ~/.aws/credentials\n- id: plain\n  value: s3cr3t\n- id: tok2\n  env: TOKEN\n`);
  assert.deepEqual(cfg.images[0]!.secrets, [
    { id: 'NPM_TOKEN', env: 'NPM_TOKEN' },
    { id: 'credentials', src: '~/.aws/credentials' },
    { id: 'plain', value: 's3cr3t' },
    { id: 'tok2', env: 'TOKEN' },
  ]);
  fails(`${META}image: a\nfrom: x\nsecrets:\n- env: A\n  src: /b\n`, /secret type could be ONLY `env`, `src` or `value`/);
  fails(`${META}image: a\nfrom: x\nsecrets:\n- value: x\n`, /type value should be used with id parameter/);
  fails(`${META}image: a\nfrom: x\nsecrets:\n- env: A\n- id: A\n  value: b\n`, /duplicate secret id "A"/);
  fails(`${META}image: a\nfrom: x\nsecrets:\n- file: /x\n`, /unknown key "file"/);
});

test('git basicAuth only on remote mappings, with a password source', () => {
  const cfg = load(
    `${META}image: a\nfrom: x\ngit:\n- url: https://example.com/r.git\n  branch: main\n  add: /\n  to: /src\n  basicAuth:\n    username: bot\n    password: {env: GIT_TOKEN}\n`,
  );
  assert.deepEqual(cfg.images[0]!.git[0]!.basicAuth, { username: 'bot', password: { env: 'GIT_TOKEN' } });
  fails(`${META}image: a\nfrom: x\ngit:\n- add: /\n  to: /src\n  basicAuth: {username: u, password: {env: T}}\n`, /only for remote git/);
  fails(`${META}image: a\nfrom: x\ngit:\n- url: https://e/r\n  to: /src\n  basicAuth: {username: u}\n`, /"password" is required/);
});

test('import: image, artifact or from (external), exactly one; image and from exclusive', () => {
  const cfg = load(
    `${META}image: a\nfrom: x\nimport:\n- from: registry.example.com/tools:1.0\n  add: /usr/bin/jq\n  to: /usr/local/bin/jq\n  before: install\n`,
  );
  assert.equal(cfg.images[0]!.imports[0]!.from, 'registry.example.com/tools:1.0');
  fails(
    `${META}image: a\nfrom: x\nimport:\n- image: b\n  from: c\n  add: /x\n  before: install\n---\nimage: b\nfrom: y\n`,
    /specify only `image: NAME` or `from: NAME` for import/,
  );
  fails(`${META}image: a\nfrom: x\nimport:\n- add: /x\n  before: install\n`, /`artifact: NAME` or image name `image: NAME` required for import/);
  fails(`${META}image: a\nfrom: x\nimport:\n- image: b\n  add: /x\n  before: install\n`, /image "b" referenced in "import" not found/);
});

test('meta: build, deploy, cleanup and gitWorktree are validated and kept', () => {
  const cfg = load(`project: demo
configVersion: 1
build:
  cacheVersion: "2"
  staged: true
deploy:
  helmRelease: "[[ project ]]-[[ env ]]"
  namespace: demo
  helmChartConfig: {appVersion: "1.0"}
cleanup:
  disableKubernetesBasedPolicy: true
  keepPolicies:
  - references: {tag: /.*/, limit: {last: 10, in: 168h, operator: And}}
  - references: {branch: /.*/}
    imagesPerReference: {last: 2}
gitWorktree:
  forceShallowClone: true
---
image: a
from: x
`);
  assert.equal(cfg.images[0]!.cacheVersion, '2');
  assert.equal(cfg.meta.build.staged, true);
  assert.equal(cfg.meta.gitWorktree.forceShallowClone, true);
  assert.equal((cfg.meta.deploy as { namespace: string }).namespace, 'demo');
  assert.ok(Array.isArray((cfg.meta.cleanup as { keepPolicies: unknown[] }).keepPolicies));
  fails(
    `${META.replace('---\n', '')}deploy:\n  helmReleas: x\n---\nimage: a\nfrom: x\n`,
    /unknown key "helmReleas" in meta deploy — did you mean "helmRelease"/,
    4,
  );
  fails(
    `${META.replace('---\n', '')}cleanup:\n  keepPolicies:\n  - references: {branch: x, tag: y}\n---\nimage: a\nfrom: x\n`,
    /specify only `branch` or `tag`/,
  );
  fails(`${META.replace('---\n', '')}gitWorktree:\n  allowUnshalow: true\n---\nimage: a\nfrom: x\n`, /did you mean "allowUnshallow"/);
  fails(
    `${META.replace('---\n', '')}build:\n  imageSpec:\n    config:\n      user: x\n---\nimage: a\nfrom: x\n`,
    /unknown key "user" in meta build.imageSpec.config/,
  );
});

test('aliases resolve inside a document: scalars, lists and ansible tasks', () => {
  const cfg = load(
    `${META}image: a\nfrom: &base alpine:3.20\nfromCacheVersion: *base\nansible:\n  install:\n  - &task {name: t, shell: echo}\n  setup:\n  - *task\n`,
  );
  const img = cfg.images[0]!;
  assert.equal(img.fromCacheVersion, 'alpine:3.20');
  assert.deepEqual(img.instructions?.stages.setup, [{ name: 't', shell: 'echo' }]);
});
