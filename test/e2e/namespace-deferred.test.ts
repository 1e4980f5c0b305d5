// As root a build plans in its own process and enters root's user namespace (runtime/userns.ts) only
// when a stage is to be built (runtime/namespace-deferral.ts): a build with every stage stored runs
// no unshare/setpriv at all, and a restarted build prints each line once. What host root writes
// before the restart (a pulled base image) is used by the builder in the namespace, and the other
// way round. Counted through logging `setpriv` and `unshare` on PATH that run the real ones; owners
// read with stat (no timing).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { chmod, chown, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { GitProject } from '../support/git-project.js';

const root = process.getuid?.() === 0;
const userNamespaces = (() => {
  try {
    return Number(execFileSync('cat', ['/proc/sys/user/max_user_namespaces'], { encoding: 'utf8' })) > 0;
  } catch {
    return false;
  }
})();

describe('root build: the namespace is entered only for a stage to build', {
  skip: (!root && 'needs root') || (!userNamespaces && 'needs user namespaces'),
}, () => {
  let work: { path: string; cleanup(): Promise<void> };
  let registry: RunningRegistry;
  let base: string;
  let shim: string;
  let log: string;

  before(async () => {
    work = await tempDir('nsdefer');
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
    shim = join(work.path, 'bin');
    log = join(work.path, 'calls.log');
    await mkdir(shim);
    for (const tool of ['setpriv', 'unshare']) {
      const real = execFileSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim();
      await writeFile(join(shim, tool), `#!/bin/sh\nprintf '%s %s\\n' ${tool} "$*" >> "$TSBUILD_TEST_CALL_LOG"\nexec ${real} "$@"\n`);
      await chmod(join(shim, tool), 0o755);
    }
    // flock (the build's locks) logs the user namespace it runs in: host root's, or the builder's.
    const flock = execFileSync('sh', ['-c', 'command -v flock'], { encoding: 'utf8' }).trim();
    await writeFile(join(shim, 'flock'), `#!/bin/sh\nprintf 'flock %s\\n' "$(readlink /proc/self/ns/user)" >> "$TSBUILD_TEST_CALL_LOG"\nexec ${flock} "$@"\n`);
    await chmod(join(shim, 'flock'), 0o755);
  });
  after(async () => {
    await registry?.stop();
    await work?.cleanup();
  });

  async function build(project: string, home: string, extra: string[] = []): Promise<{ calls: string[]; lines: string[]; stderr: string }> {
    await rm(log, { force: true });
    const res = await runCli(['build', '--dir', project, '--log-format', 'plain', ...extra], {
      home,
      // Locks through the util-linux child, so the flock shim sees in which namespace each is taken
      // (the native flock of lib/internal/kernel-lock.ts starts no process).
      env: { PATH: `${shim}:${process.env.PATH}`, TSBUILD_TEST_CALL_LOG: log, TSBUILD_NATIVE_LOCKS: '0' },
    });
    assert.equal(res.code, 0, res.stderr);
    const calls = (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean);
    // Log lines without their time stamp.
    const lines = res.stderr
      .split('\n')
      .filter((l) => /^\d\d:\d\d:\d\d /.test(l))
      .map((l) => l.slice(9));
    return { calls, lines, stderr: res.stderr };
  }
  /** The re-executions into root's user namespace (not the probes or the steps' own namespaces). */
  const restarts = (calls: string[]): string[] => calls.filter((c) => c.startsWith('unshare --user --mount --fork'));
  const withoutLocks = (calls: string[]): string[] => calls.filter((c) => !c.startsWith('flock '));
  /** Locks taken by host root itself, in this (the initial) user namespace. */
  const hostRootLocks = (calls: string[]): string[] => calls.filter((c) => c === `flock ${readlinkSync('/proc/self/ns/user')}`);
  const assertOnce = (lines: string[]): void => {
    const seen = new Set<string>();
    for (const l of lines) {
      assert.ok(!seen.has(l), `printed twice: ${l}\n${lines.join('\n')}`);
      seen.add(l);
    }
  };

  test('a build that runs a stage restarts once and prints each line once; a fully cached one runs no unshare or setpriv', async () => {
    const home = join(work.path, 'home-a');
    const project = join(work.path, 'project-a');
    await mkdir(project, { recursive: true });
    await writeFile(
      join(project, 'werf.yaml'),
      `project: nsdefer\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: [echo one > /one]\n  setup: [cat /one]\n`,
    );
    const first = await build(project, home);
    assert.equal(restarts(first.calls).length, 1, first.calls.join('\n'));
    assertOnce(first.lines);
    assert.equal(first.lines.filter((l) => /^pull /.test(l)).length, 1, first.stderr);
    assert.equal(first.lines.filter((l) => /\binstall\s+built\b/.test(l)).length, 1, first.stderr);

    // Host root made the home (store, locks, temp dirs) while it planned, before the restart; the
    // builder in the namespace wrote every blob into it (owned by the first id of root's range).
    for (const dir of ['store', join('store', 'blobs', 'sha256'), 'locks', 'tmp']) {
      assert.equal((await stat(join(home, dir))).uid, 0, `${dir} was made by host root, before the namespace`);
    }
    const indexJson = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const owners = new Set(await Promise.all(indexJson.manifests.map(async (m) => (await stat(join(home, 'store', 'blobs', ...m.digest.split(':')))).uid)));
    assert.ok(indexJson.manifests.length >= 3 && !owners.has(0), `the images were written in the namespace: owners ${[...owners]}`);

    const again = await build(project, home);
    assert.deepEqual(restarts(again.calls), [], 'nothing restarted');
    assert.deepEqual(withoutLocks(again.calls), [], 'nothing mounted');
    assertOnce(again.lines);
    assert.equal(again.lines.filter((l) => /\bcached\b/.test(l)).length, 3, again.stderr);

    // The other way round: host root's no-op wrote into the home the builder made; the next build
    // that runs a stage, in the namespace, still writes there.
    await writeFile(join(project, 'werf.yaml'), (await readFile(join(project, 'werf.yaml'), 'utf8')).replace('cat /one', 'cat /one; echo two'));
    const changed = await build(project, home);
    assert.equal(restarts(changed.calls).length, 1, changed.calls.join('\n'));
    assertOnce(changed.lines);
    assert.match(changed.stderr, /│ two/);
    assert.equal(changed.lines.filter((l) => /\bsetup\s+built\b/.test(l)).length, 1, changed.stderr);
  });

  test('a changed build after a settled one restarts before host root plans; a wrong guess costs only the restart', async () => {
    const home = join(work.path, 'home-d');
    const project = join(work.path, 'project-d');
    await mkdir(project, { recursive: true });
    const v1 = `project: nsguess\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: [echo one > /one]\n  setup: [cat /one]\n`;
    const v2 = v1.replace('cat /one', 'cat /one; echo two');
    await writeFile(join(project, 'werf.yaml'), v1);
    // A home with no record of this command: host root plans (and locks) first, then restarts.
    const first = await build(project, home);
    assert.equal(restarts(first.calls).length, 1, first.calls.join('\n'));
    assert.ok(hostRootLocks(first.calls).length > 0, `host root planned first: ${first.calls.join('\n')}`);
    const noop = await build(project, home);
    assert.deepEqual(restarts(noop.calls), [], noop.stderr);
    assert.ok(hostRootLocks(noop.calls).length > 0, 'the no-op ran in host root');

    // The config changed since the last settled build: straight into the namespace, no plan before.
    await writeFile(join(project, 'werf.yaml'), v2);
    const changed = await build(project, home);
    assert.equal(restarts(changed.calls).length, 1, changed.calls.join('\n'));
    assert.deepEqual(hostRootLocks(changed.calls), [], `host root did not plan: ${changed.calls.join('\n')}`);
    assertOnce(changed.lines);
    assert.match(changed.stderr, /│ two/);
    assert.equal(changed.lines.filter((l) => /\bsetup\s+built\b/.test(l)).length, 1, changed.stderr);

    // Back to v1, whose stages are all stored: guessed wrong, so it restarts, and builds nothing.
    await writeFile(join(project, 'werf.yaml'), v1);
    const back = await build(project, home);
    assert.equal(restarts(back.calls).length, 1, back.calls.join('\n'));
    assert.equal(back.lines.filter((l) => /\bbuilt\b|\bbuilding\b/.test(l)).length, 0, back.stderr);
    assert.equal(back.lines.filter((l) => /\bcached\b/.test(l)).length, 3, back.stderr);
    // ...and that is settled now: the same build again plans in host root and runs no namespace.
    const settled = await build(project, home);
    assert.deepEqual(restarts(settled.calls), [], settled.stderr);
  });

  test('--push: the no-op pushes as host root, the blob-info cache it writes is replaced by the builder next time', async () => {
    const home = join(work.path, 'home-c');
    const project = join(work.path, 'project-c');
    const push = ['--push', '--repo', `${registry.host}/nsdefer-push`];
    const cache = join(home, 'blob-info-cache.json');
    await mkdir(project, { recursive: true });
    await writeFile(join(project, 'werf.yaml'), `project: nspush\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  setup: [echo one > /one]\n`);
    const first = await build(project, home, push);
    assert.equal(restarts(first.calls).length, 1, first.calls.join('\n'));
    assertOnce(first.lines);
    // The no-op, in host root's process, pushes again and records where the blobs are.
    await rm(cache, { force: true });
    await rm(`${cache}.lock`, { force: true, recursive: true });
    const again = await build(project, home, push);
    assert.deepEqual(withoutLocks(again.calls), [], again.stderr);
    assert.equal(again.lines.filter((l) => /^pushed /.test(l)).length, 1, again.stderr);
    assert.equal((await stat(cache)).uid, 0, 'host root wrote the blob-info cache');
    // The builder in the namespace pushes the next change and replaces host root's cache file.
    await writeFile(join(project, 'werf.yaml'), (await readFile(join(project, 'werf.yaml'), 'utf8')).replace('echo one', 'echo two'));
    const changed = await build(project, home, push);
    assert.equal(restarts(changed.calls).length, 1, changed.calls.join('\n'));
    assertOnce(changed.lines);
    assert.equal(changed.lines.filter((l) => /^pushed /.test(l)).length, 1, changed.stderr);
    assert.notEqual((await stat(cache)).uid, 0, 'the builder replaced the cache host root wrote');
    JSON.parse(await readFile(cache, 'utf8'));
  });

  test('a checkout owned by another user: the no-op plans in host root, git reads it like the builder does', async () => {
    const home = join(work.path, 'home-b');
    const dir = join(work.path, 'project-b');
    const git = await GitProject.init(dir);
    await git.commit({
      'werf.yaml': `project: nsgit\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\ngit:\n- add: /src\n  to: /app\nshell:\n  setup: [ls /app]\n`,
      'src/a.txt': 'a\n',
    });
    execFileSync('chown', ['-R', '12345:12345', dir]);
    await chown(dir, 12345, 12345);
    const first = await build(dir, home);
    assert.equal(restarts(first.calls).length, 1, first.calls.join('\n'));
    const again = await build(dir, home);
    assert.deepEqual(withoutLocks(again.calls), [], again.stderr);
    assert.equal(again.lines.filter((l) => /\bbuilt\b/.test(l)).length, 0, again.stderr);
  });
});
