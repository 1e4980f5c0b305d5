// Reproducible images: one commit built in two homes, from two clones, under different umasks and a
// few seconds apart gives the same final digests when the commands are deterministic (files made by
// stages are clamped to the commit time, or to SOURCE_DATE_EPOCH).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, tempDirs } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';

const exec = promisify(execFile);

const YAML = `project: repro
configVersion: 1
---
artifact: builder
from: local.test/base:1
shell:
  install:
  - mkdir -p /out/sub
  - echo built > /out/sub/file
  - ln -s sub/file /out/link
---
image: app
from: local.test/base:1
git:
- add: /src
  to: /app
import:
- artifact: builder
  add: /out
  to: /opt/out
  after: install
shell:
  install:
  - mkdir -p /var/data
  - echo data > /var/data/a
  - cat /app/hello.txt > /etc/copied
  - rm /etc/group
  setup:
  - touch /app/generated
`;

interface Report {
  images: Array<{ name: string; final: { digest: string } }>;
}

describe('reproducible images', () => {
  const temps = tempDirs();
  let homes: string[];
  let clones: string[];
  /** A home holding only the base image. */
  let pristine: string;

  before(async () => {
    // One base image, copied byte for byte into both homes.
    const homeA = await temps.make('repro-home-a');
    const tree = await busyboxTree();
    try {
      await storeLocalImage(join(homeA, 'store'), 'local.test/base:1', tree.dir);
    } finally {
      await tree.cleanup();
    }
    pristine = await temps.make('repro-pristine');
    await exec('cp', ['-a', `${homeA}/.`, pristine]);
    const homeB = await temps.make('repro-home-b');
    await exec('cp', ['-a', `${homeA}/.`, homeB]);
    homes = [homeA, homeB];
    const origin = await temps.make('repro-origin');
    await exec('mkdir', ['-p', join(origin, 'src')]);
    await writeFile(join(origin, 'werf.yaml'), YAML);
    await writeFile(join(origin, 'src', 'hello.txt'), 'hello\n');
    const git = (dir: string, ...args: string[]): Promise<unknown> => exec('git', ['-C', dir, ...args]);
    await git(origin, 'init', '-q');
    await git(origin, 'add', '-A');
    await git(origin, '-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'init', '--date', '2024-01-02T03:04:05Z');
    clones = [];
    for (const n of ['a', 'b']) {
      const dir = await temps.make(`repro-clone-${n}`);
      await exec('git', ['clone', '-q', origin, dir]);
      clones.push(dir);
    }
  });
  after(() => temps.cleanup());

  async function buildIn(i: number, umask: number, env: NodeJS.ProcessEnv = {}): Promise<Map<string, string>> {
    const reportPath = join(homes[i]!, `report-${Date.now()}.json`);
    const previous = process.umask(umask); // inherited by the tsbuild process (and by what it starts)
    try {
      const res = await runCli(['build', '--dir', clones[i]!, '--pull', 'never', '--report-path', reportPath], { home: homes[i]!, env });
      assert.equal(res.code, 0, res.stderr);
    } finally {
      process.umask(previous);
    }
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    return new Map(report.images.map((im) => [im.name, im.final.digest]));
  }

  test('two homes, two clones, umask 022 and 077, seconds apart: the same final digests', async () => {
    const first = await buildIn(0, 0o022);
    await sleep(2100); // a later clock: every file a stage makes gets a later mtime
    const second = await buildIn(1, 0o077);
    assert.deepEqual([...second.entries()], [...first.entries()]);
    assert.equal(first.size, 2);
  });

  test('SOURCE_DATE_EPOCH clamps instead of the commit time: still the same in both homes, another digest', async () => {
    // Signatures do not depend on the epoch (stages would be reused): two more homes with only the base.
    const fresh = [await temps.make('repro-home-c'), await temps.make('repro-home-d')];
    for (const h of fresh) await exec('cp', ['-a', `${pristine}/.`, h]);
    const saved = homes;
    homes = fresh;
    try {
      const env = { SOURCE_DATE_EPOCH: '1600000000' };
      const a = await buildIn(0, 0o022, env);
      await sleep(1100);
      const b = await buildIn(1, 0o027, env);
      assert.deepEqual([...b.entries()], [...a.entries()]);
      const byCommit = await buildInfoFrom(saved[0]!);
      assert.notEqual(a.get('app'), byCommit.get('app'));
    } finally {
      homes = saved;
    }
  });

  async function buildInfoFrom(home: string): Promise<Map<string, string>> {
    const res = await runCli(['build', '--dir', clones[0]!, '--pull', 'never', '--report-path', join(home, 'again.json')], { home });
    assert.equal(res.code, 0, res.stderr);
    const report = JSON.parse(await readFile(join(home, 'again.json'), 'utf8')) as Report;
    return new Map(report.images.map((im) => [im.name, im.final.digest]));
  }
});
