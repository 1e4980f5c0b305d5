// `plan` tells what `build` would hit in the git mappings, as warnings naming the werf.yaml line of
// the key: an `add` that names nothing at the commit, a `to:` ending in "/" over a single file,
// masks that select nothing, stageDependencies of a stage without instructions. plan exits 0; build
// shows the same warnings once; a clean project has none. Real git repositories.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDirs } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { GitProject } from '../support/git-project.js';

const PROBLEMS = `project: warned
configVersion: 1
---
image: app
from: local.test/base:1
git:
- add: /nothing-here
  to: /missing
- add: /config.yaml
  to: /etc/app/
- add: /src
  to: /app
  includePaths:
  - '*.go'
  - '*.txt'
  excludePaths: [tmp]
  stageDependencies:
    install:
    - 'missing/**'
    - a.txt
    setup: ['*.txt']
- add: /src/b.txt
  to: /
shell:
  install: [cat /app/a.txt > /copy]
`;

// What builds: the same problems but the missing `add` and the file written as `/` (those fail the
// build, as they should).
const ROOT_FILE = '- add: /src/b.txt\n  to: /\n';
const BUILDABLE = PROBLEMS.replace('- add: /nothing-here\n  to: /missing\n', '').replace(ROOT_FILE, '');

const CLEAN = `project: clean
configVersion: 1
---
image: app
from: local.test/base:1
git:
- add: /config.yaml
  to: /etc/app/config.yaml
- add: /src
  to: /app
  includePaths: ['*.txt']
  excludePaths: [b.txt]
  stageDependencies:
    install: [a.txt]
shell:
  install: [cat /app/a.txt > /copy]
`;

const FILES = { 'config.yaml': 'x: 1\n', 'src/a.txt': 'a\n', 'src/b.txt': 'b\n' };

/** The 1-based line of the first line of `yaml` that contains `text` (after line `after`). */
function lineOf(yaml: string, text: string, after = 0): number {
  const i = yaml.split('\n').findIndex((l, n) => n >= after && l.includes(text));
  assert.ok(i >= 0, text);
  return i + 1;
}

const warnings = (stderr: string): string[] => stderr.split('\n').filter((l) => /warning: /.test(l));

describe('plan warns about what build would hit in git mappings', () => {
  const temps = tempDirs();
  let home: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await homeWithLocalBase('plan-warn-home');
  });
  after(async () => {
    await home?.cleanup();
    await temps.cleanup();
  });

  async function project(yaml: string): Promise<GitProject> {
    const p = await GitProject.init(await temps.make('plan-warn'));
    await p.commit({ 'werf.yaml': yaml, ...FILES });
    return p;
  }

  test('each problem once, with the werf.yaml line of its key; plan exits 0', async () => {
    const p = await project(PROBLEMS);
    const res = await runCli(['plan', '--dir', p.dir], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    const got = warnings(res.stderr);
    const file = `${p.dir}/werf.yaml`;
    const expect: Array<[number, RegExp]> = [
      [lineOf(PROBLEMS, 'add: /nothing-here'), /git mapping 1: add "\/nothing-here" names nothing at commit [0-9a-f]{12}: the build fails on it/],
      [
        lineOf(PROBLEMS, 'to: /etc/app/'),
        /git mapping 2: to "\/etc\/app\/" ends with "\/" but add "\/config.yaml" is a file: it is written as \/etc\/app itself/,
      ],
      [lineOf(PROBLEMS, "- '*.go'"), /git mapping 3: includePaths mask "\*\.go" matches no file under "\/src"/],
      [lineOf(PROBLEMS, 'excludePaths: [tmp]'), /git mapping 3: excludePaths mask "tmp" matches no file the mapping includes/],
      [lineOf(PROBLEMS, "- 'missing/**'"), /stageDependencies\.install mask "missing\/\*\*" matches no file of the mapping/],
      [lineOf(PROBLEMS, 'setup:'), /stageDependencies\.setup is given but the image has no setup instructions: it has no effect/],
      [
        lineOf(PROBLEMS, 'to: /', lineOf(PROBLEMS, 'add: /src/b.txt')),
        /git mapping 4: add "\/src\/b\.txt" is a file and to is "\/": the file would have no name of its own in the image: the build fails on it/,
      ],
    ];
    assert.equal(got.length, expect.length, got.join('\n'));
    for (const [line, re] of expect) {
      const hit = got.filter((w) => w.includes(`warning: ${file}:${line}: image "app", `) && re.test(w));
      assert.equal(hit.length, 1, `${line} ${re}\n${got.join('\n')}`);
    }

    // The same warnings as JSON events, with file and line as fields.
    const json = await runCli(['plan', '--dir', p.dir, '--log-format', 'json'], { home: home.path });
    assert.equal(json.code, 0, json.stderr);
    JSON.parse(json.stdout); // the plan itself stays one JSON document on stdout
    const events = json.stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { type: string; file?: string; line?: number; message: string })
      .filter((e) => e.type === 'warning');
    const byLine = (a: [unknown, number], b: [unknown, number]): number => a[1] - b[1];
    assert.deepEqual(
      events.map((e): [unknown, number] => [e.file, e.line!]).sort(byLine),
      expect.map(([line]): [unknown, number] => [file, line]).sort(byLine),
    );
  });

  test('build shows the same warnings once and builds', async () => {
    const p = await project(BUILDABLE);
    const planned = warnings((await runCli(['plan', '--dir', p.dir], { home: home.path })).stderr);
    assert.equal(planned.length, 5, planned.join('\n'));
    const res = await runCli(['build', '--dir', p.dir, '--log-format', 'plain'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    const strip = (w: string): string => w.replace(/^\S+ /, ''); // the time stamp
    assert.deepEqual(warnings(res.stderr).map(strip), planned.map(strip));
  });

  test('build refuses a single file written as the root directory (to: /), naming the mapping', async () => {
    const p = await project(PROBLEMS.replace('- add: /nothing-here\n  to: /missing\n', ''));
    const res = await runCli(['build', '--dir', p.dir, '--log-format', 'plain'], { home: home.path });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /add: \/src\/b\.txt is a single file and to: \/ gives it no name in the image/);
    assert.match(res.stderr, /to: \/b\.txt/);
  });

  test('a project without problems gets no warning from plan or build', async () => {
    const p = await project(CLEAN);
    const res = await runCli(['plan', '--dir', p.dir], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(warnings(res.stderr), []);
    const built = await runCli(['build', '--dir', p.dir, '--log-format', 'plain'], { home: home.path });
    assert.equal(built.code, 0, built.stderr);
    assert.deepEqual(warnings(built.stderr), []);
  });
});
