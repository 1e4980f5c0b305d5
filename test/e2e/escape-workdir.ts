// The WorkingDir half of the escape suite (issue 14, runc CVE-2024-21626 class): a base image whose
// WorkingDir is /proc/self/fd/N (N = 3..20), a symlink to one, /proc/1/root, /proc/self/cwd, /dev/fd
// or a symlink climbing out of the root is refused in `build` and `run` with bwrap, runc and crun, and
// nothing is written through the descriptor the CLI was started with. Files per id mode and runtime.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readdirSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { cli, escapeWorkspace, setUpUsers, tearDownUsers, workdirCases, type EscapeWorkspace, type Who } from './escape-support.js';

/**
 * `cases`: 'fd' (/proc/self/fd/N, N = 3..20), 'links' (symlinked and other variants) — split so that
 * each file stays well inside the per-file timeout on a loaded machine — or 'some' (three of them).
 */
export function workdirSuite(who: Who, sandboxes: string[], which: 'fd' | 'links' | 'some'): void {
  before(setUpUsers);
  after(tearDownUsers);
  describe(`hostile WorkingDirs (${who.label}, ${sandboxes.join(', ')}, ${which})`, () => {
    let ws: EscapeWorkspace;
    before(async () => {
      ws = await escapeWorkspace(who);
    });
    after(async () => {
      await ws?.cleanup();
    });

    for (const sandbox of sandboxes) {
      test(`${sandbox}: hostile WorkingDirs are refused in build and run, with nothing written on the host`, async () => {
        const cases = workdirCases().filter(([tag]) =>
          which === 'some' ? ['fd3', 'wd7', 'up'].includes(tag) : which === 'fd' ? /^fd\d+$/.test(tag) : !/^fd\d+$/.test(tag),
        );
        const project = (images: Array<[string, string]>, stage: boolean): string =>
          images
            .map(([tag]) => `image: ${tag}\nfrom: local.test/escape:${tag}\n${stage ? 'shell:\n  setup: [touch escaped-build]\n' : ''}`)
            .reduce((y, i) => `${y}---\n${i}`, 'project: esc\nconfigVersion: 1\n');
        const fd = openSync(ws.canaryDir, 'r');
        try {
          for (const [tag, wd] of cases) {
            await ws.write(project([[tag, wd]], true));
            const build = await cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox], { home: ws.home, extraFd: fd });
            assert.notEqual(build.code, 0, `${tag}: build must fail`);
            assert.ok(build.stderr.includes(`image "${tag}": WorkingDir "${wd}"`), `${tag}: ${build.stderr}`);
          }
          // Images without stages: each final image is its base, WorkingDir included; `run` must refuse them.
          await ws.write(project(cases, false));
          const built = await cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox], { home: ws.home });
          assert.equal(built.code, 0, built.stderr);
          for (const [tag, wd] of cases) {
            const run = await cli(who, ['run', '--dir', ws.project, '--sandbox', sandbox, tag, '--', '/bin/touch', 'escaped-run'], {
              home: ws.home,
              extraFd: fd,
            });
            assert.notEqual(run.code, 0, `${tag}: run must fail`);
            assert.match(run.stderr, new RegExp(`image "${tag}": WorkingDir "${wd.replace(/[/.]/g, '\\$&')}"`), `${tag}: ${run.stderr}`);
          }
        } finally {
          closeSync(fd);
        }
        assert.deepEqual(await readdir(ws.canaryDir), []);
        assert.deepEqual(
          readdirSync('/tmp').filter((n) => n.startsWith('escaped-')),
          [],
        );
      });
    }
  });
}
