import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_SETTLED_RECORDS, buildInputs, expectsStageToBuild, recordSettledBuild, settledRecordPath } from './settled-builds.js';

/** The inputs without the slot (the command line) they start with. */
function config(args: string[]): Buffer {
  const { slot, inputs } = buildInputs(args);
  return inputs.subarray(Buffer.byteLength(slot));
}

async function scratch(): Promise<{ dir: string; home: string; done(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-settled-'));
  const dir = join(root, 'project');
  await mkdir(dir);
  return { dir, home: join(root, 'home'), done: () => rm(root, { recursive: true, force: true }) };
}

test('the inputs follow the config bytes (werf.yaml, werf.yml or --config) and git HEAD; the slot follows the arguments', async () => {
  const s = await scratch();
  try {
    await writeFile(join(s.dir, 'werf.yml'), 'project: a\n');
    const a = buildInputs(['--dir', s.dir]);
    assert.deepEqual(config([`--dir=${s.dir}`]), config(['--dir', s.dir]), '--dir=X reads the same config');
    assert.notEqual(buildInputs([`--dir=${s.dir}`]).slot, a.slot, 'another command line is another slot');
    await writeFile(join(s.dir, 'werf.yml'), 'project: b\n');
    assert.notDeepEqual(config(['--dir', s.dir]), a.inputs.subarray(Buffer.byteLength(a.slot)));
    await writeFile(join(s.dir, 'werf.yaml'), 'project: c\n');
    const yaml = config(['--dir', s.dir]);
    await writeFile(join(s.dir, 'other.yaml'), 'project: c\n');
    assert.deepEqual(config(['--dir', s.dir, '--config', 'other.yaml']), yaml, 'werf.yaml first; --config relative to --dir');

    const git = (...args: string[]): string => execFileSync('git', ['-C', s.dir, ...args], { encoding: 'utf8' });
    git('init', '-q');
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'one');
    const one = buildInputs(['--dir', s.dir]).inputs;
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '--allow-empty', '-m', 'two');
    assert.notDeepEqual(buildInputs(['--dir', s.dir]).inputs, one, 'a new commit on the branch');
  } finally {
    await s.done();
  }
});

test('a build is expected to build a stage only when the same command settled before with other inputs', async () => {
  const s = await scratch();
  try {
    const argv = ['node', 'tsbuild.js', 'build', '--dir', s.dir];
    await writeFile(join(s.dir, 'werf.yaml'), 'project: a\n');
    assert.equal(expectsStageToBuild(argv, s.home), false, 'no record: plan first');
    recordSettledBuild(argv, s.home);
    assert.equal(expectsStageToBuild(argv, s.home), false, 'same inputs');
    assert.equal(expectsStageToBuild([...argv, 'app'], s.home), false, 'another command has no record');
    await writeFile(join(s.dir, 'werf.yaml'), 'project: a # changed\n');
    assert.equal(expectsStageToBuild(argv, s.home), true);
    recordSettledBuild(argv, s.home);
    assert.equal(expectsStageToBuild(argv, s.home), false);
  } finally {
    await s.done();
  }
});

test('a record names its command in full: another command line is never compared with it', async () => {
  const s = await scratch();
  try {
    const argv = ['node', 'tsbuild.js', 'build', '--dir', s.dir];
    await writeFile(join(s.dir, 'werf.yaml'), 'project: a\n');
    recordSettledBuild(argv, s.home);
    const [name] = await readdir(join(s.home, 'run', 'settled-builds'));
    // As if another command's record had landed under this name (the name is a 64-bit hash).
    await writeFile(join(s.home, 'run', 'settled-builds', name!), Buffer.from('["/elsewhere","build"]\0project: b\n\0'));
    assert.equal(expectsStageToBuild(argv, s.home), false, 'not this command: plan first');
  } finally {
    await s.done();
  }
});

test('a home keeps the most recently written records only: a new command line prunes the oldest', async () => {
  const s = await scratch();
  try {
    await writeFile(join(s.dir, 'werf.yaml'), 'project: a\n');
    const argv = (n: number): string[] => ['node', 'tsbuild', 'build', '--dir', s.dir, `--env=e${n}`];
    const record = (n: number): string => settledRecordPath(argv(n), s.home);
    // As many command lines as are kept, written a minute apart (oldest first) a day ago.
    const t0 = Date.now() / 1000 - 86400;
    for (let n = 0; n < MAX_SETTLED_RECORDS; n++) {
      recordSettledBuild(argv(n), s.home);
      await utimes(record(n), t0 + n * 60, t0 + n * 60);
    }
    // And a temp file a killed build left, older still.
    const leftover = `${record(0)}.12345`;
    await writeFile(leftover, 'left behind');
    await utimes(leftover, t0 - 60, t0 - 60);
    const dir = join(s.home, 'run', 'settled-builds');
    // Rewriting a known command line prunes nothing.
    recordSettledBuild(argv(0), s.home);
    assert.equal((await readdir(dir)).length, MAX_SETTLED_RECORDS + 1);
    // A new one brings the directory back to the limit, dropping the oldest files.
    recordSettledBuild(argv(MAX_SETTLED_RECORDS), s.home);
    const kept = new Set((await readdir(dir)).map((f) => join(dir, f)));
    assert.equal(kept.size, MAX_SETTLED_RECORDS);
    assert.ok(kept.has(record(MAX_SETTLED_RECORDS)), 'the new record');
    assert.ok(kept.has(record(0)), 'the record just rewritten');
    assert.ok(kept.has(record(2)), 'the second-oldest untouched record');
    assert.ok(!kept.has(record(1)), 'the oldest untouched record went');
    assert.ok(!kept.has(leftover), 'the temp file went');
    await writeFile(join(s.dir, 'werf.yaml'), 'project: b\n');
    assert.equal(expectsStageToBuild(argv(MAX_SETTLED_RECORDS), s.home), true, 'the new record is read back');
  } finally {
    await s.done();
  }
});
