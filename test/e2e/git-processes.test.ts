// A no-op build runs a fixed number of git processes, whatever the number of images and mappings:
// one rev-parse to open the repository (once for the config's .Commit, SOURCE_DATE_EPOCH and the
// mappings), one long-lived cat-file --batch for revisions, commits and blobs, one status for the
// giterminism check of every mapping, one ls-tree -r per commit. Counted
// through a `git` on PATH that logs its arguments and runs the real git (counting, not timing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';
import { generateMonorepo, generateSixImages } from '../support/generated-project.js';

describe('git processes of a no-op build', () => {
  let work: { path: string; cleanup(): Promise<void> };
  let shim: string;
  let log: string;
  before(async () => {
    work = await tempDir('gitcount');
    const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
    shim = join(work.path, 'bin');
    log = join(work.path, 'git.log');
    execFileSync('mkdir', ['-p', shim]);
    await writeFile(join(shim, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "$TSBUILD_TEST_GIT_LOG"\nexec ${realGit} "$@"\n`);
    await chmod(join(shim, 'git'), 0o755);
  });
  after(async () => {
    await work?.cleanup();
  });

  /** The git subcommands a command ran (options before the subcommand skipped). */
  async function gitCalls(args: string[], home: string): Promise<string[]> {
    await rm(log, { force: true });
    const res = await runCli(args, { home, env: { PATH: `${shim}:${process.env.PATH}`, TSBUILD_TEST_GIT_LOG: log } });
    assert.equal(res.code, 0, res.stderr);
    const lines = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    return lines.map((l) => {
      const words = l.split(' ');
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        if (w === '-C' || w === '--git-dir' || w === '-c') i++;
        else if (!w.startsWith('-')) return w;
      }
      return l;
    });
  }

  const count = (calls: string[]): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const c of calls) out[c] = (out[c] ?? 0) + 1;
    return out;
  };

  test('the same git processes for 2 and for 6 images of a monorepo; one status, one ls-tree', async () => {
    const counts: Array<Record<string, number>> = [];
    for (const services of [2, 6]) {
      const home = await homeWithLocalBase(`gitcount-home-${services}`);
      try {
        const dir = join(work.path, `mono${services}`);
        await generateMonorepo(dir, 'local.test/base:1', services, 5);
        await gitCalls(['build', '--dir', dir], home.path);
        const noop = count(await gitCalls(['build', '--dir', dir], home.path));
        counts.push(noop);
        assert.equal(noop.status, 1, JSON.stringify(noop));
        assert.equal(noop['ls-tree'], 1, JSON.stringify(noop));
        assert.equal(noop['rev-parse'], 1, JSON.stringify(noop));
        assert.equal(noop['cat-file'], 1, JSON.stringify(noop));
      } finally {
        await home.cleanup();
      }
    }
    assert.deepEqual(counts[1], counts[0], 'git processes grew with the number of images and mappings');
  });

  test('a six-image project with artifacts, imports and two mappings per image: one status, one ls-tree', async () => {
    const home = await homeWithLocalBase('gitcount-home-six');
    try {
      const dir = join(work.path, 'six');
      await generateSixImages(dir, 'local.test/base:1');
      await gitCalls(['build', '--dir', dir], home.path);
      const noop = count(await gitCalls(['build', '--dir', dir], home.path));
      assert.equal(noop.status, 1, JSON.stringify(noop));
      assert.equal(noop['ls-tree'], 1, JSON.stringify(noop));
      // 4 (was 8: the config's .Commit and SOURCE_DATE_EPOCH opened the repository again, a
      // rev-parse and a cat-file each; now the build opens it once for all three).
      assert.equal(noop['rev-parse'], 1, JSON.stringify(noop));
      assert.ok(Object.values(noop).reduce((a, b) => a + b, 0) <= 4, JSON.stringify(noop));
    } finally {
      await home.cleanup();
    }
  });
});
