// What people and CI see: the live view under a pseudo-terminal (script(1)), plain timestamped
// lines without escape codes in a pipe, JSON events as documented in docs/events.md, the summary
// table, and Ctrl-C stopping the sandbox with exit code 130 and a store that still works.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { REPO_ROOT, TSBUILD_BIN, runCli, tempDirs } from '../support/cli.js';
import { waitUntil } from '../support/wait.js';

const exec = promisify(execFile);
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

describe('build output', () => {
  let registry: RunningRegistry;
  let base: string;
  const temps = tempDirs();
  const temp = temps.make;

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
  });
  after(async () => {
    await registry?.stop();
    await temps.cleanup();
  });

  async function project(install: string, setup = 'dd if=/dev/urandom of=/big bs=1024 count=300 2>/dev/null'): Promise<string> {
    const dir = await temp('out-project');
    await writeFile(
      join(dir, 'werf.yaml'),
      `project: out\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: [${JSON.stringify(install)}]\n  setup: [${JSON.stringify(setup)}]\n`,
    );
    return dir;
  }

  /** Run the CLI with stdout and stderr on a pseudo-terminal; returns everything the terminal got. */
  async function underPty(args: string[], home: string): Promise<{ code: number; text: string }> {
    const cmd = [process.execPath, TSBUILD_BIN, ...args].map(shq).join(' ');
    try {
      const { stdout } = await exec('script', ['-qefc', cmd, '/dev/null'], {
        cwd: REPO_ROOT,
        env: { ...process.env, TSBUILD_HOME: home, TERM: 'xterm' },
        maxBuffer: 64 << 20,
      });
      return { code: 0, text: stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string };
      return { code: e.code ?? 1, text: e.stdout ?? '' };
    }
  }

  test('in a pipe: plain timestamped lines, no escape codes, and the summary table', async () => {
    const dir = await project('echo hello from install');
    const res = await runCli(['build', '--dir', dir], { home: await temp('home') });
    assert.equal(res.code, 0, res.stderr);
    assert.ok(!res.stderr.includes('\x1b') && !res.stdout.includes('\x1b'), 'no escape codes');
    assert.match(res.stderr, /^\d\d:\d\d:\d\d \[app\] install +building [0-9a-f]{12} \(/m);
    assert.match(res.stderr, /^ {2}│ hello from install$/m);
    assert.match(res.stderr, /^\d\d:\d\d:\d\d \[app\] setup +built +[0-9a-f]{12} in \d+\.\d\ds \(\d+(\.\d)? KiB\)$/m);
    const [header, ...rows] = res.stdout.trim().split('\n');
    assert.match(header!, /^IMAGE +STAGE +SIGNATURE +STATUS +TIME +SIZE +REASON$/);
    assert.ok(
      rows.some((r) => /^app +setup +[0-9a-f]{12} +built +\d+\.\d\ds +\d+(\.\d)? KiB +setup: /.test(r)),
      rows.join('\n'),
    );
  });

  test('on a terminal: a live view with stage states, sizes and the summary table', async () => {
    const dir = await project('for i in 1 2 3; do echo tick $i; sleep 0.3; done');
    const { code, text } = await underPty(['build', '--dir', dir], await temp('home'));
    assert.equal(code, 0, text);
    assert.match(text, /\x1b\[\d+A/, 'the view redraws in place');
    assert.match(text, /building \d+\.\ds/);
    assert.match(text, /tick 2/, 'the building stage shows its output');
    assert.match(text, /\[app\]\x1b\[0m \x1b\[32mdone [0-9a-f]{12}/);
    assert.match(text, /setup +[0-9a-f]{12} +\x1b\[32mbuilt \d+\.\ds\x1b\[0m \d+(\.\d)? KiB/);
    assert.match(text, /IMAGE +STAGE +SIGNATURE +STATUS +TIME +SIZE +REASON/);
    assert.ok(text.includes('\x1b[?25h'), 'the cursor is shown again');
    // A rebuild is fully cached and says so.
    const again = await underPty(['build', '--dir', dir], temps.last());
    assert.match(again.text, /setup +[0-9a-f]{12} +\x1b\[2mcached/);
  });

  test('on a terminal: the failing stage keeps its last output lines on screen', async () => {
    const dir = await project('for i in 1 2 3 4 5 6 7 8 9; do echo step $i; done; exit 3');
    const { code, text } = await underPty(['build', '--dir', dir], await temp('home'));
    assert.equal(code, 1, text);
    const failedAt = text.lastIndexOf('FAILED after');
    assert.ok(failedAt > 0, text);
    const after = text.slice(failedAt);
    for (let i = 1; i <= 9; i++) assert.ok(after.includes(`step ${i}`), `step ${i} is kept after the failure`);
    assert.match(after, /tsbuild: error: image "app", stage install: command failed with exit code 3/);
  });

  test('--log-format json: one documented event per line, transfers included', async () => {
    const dir = await project('echo json');
    const res = await runCli(['build', '--dir', dir, '--log-format', 'json', '--repo', `${registry.host}/out-stages`], { home: await temp('home') });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '', 'no table in JSON mode');
    const events = res.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; time: string });
    const docs = await readFile(join(REPO_ROOT, 'docs', 'events.md'), 'utf8');
    const source = await readFile(join(REPO_ROOT, 'lib', 'events.ts'), 'utf8');
    const declared = [...source.matchAll(/\{ type: '([a-z.]+)'/g)].map((m) => m[1]!);
    assert.ok(declared.length >= 13);
    for (const t of declared) assert.ok(docs.includes(`### \`${t}\``), `docs/events.md documents ${t}`);
    for (const e of events) {
      assert.ok(declared.includes(e.type), `declared: ${e.type}`);
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }
    const types = new Set(events.map((e) => e.type));
    for (const t of ['pull.start', 'pull.done', 'image.start', 'stage.start', 'stage.output', 'stage.built', 'image.done', 'transfer'])
      assert.ok(types.has(t), `emits ${t}`);
    const pushes = events.filter((e) => e.type === 'transfer' && (e as unknown as { direction: string }).direction === 'push');
    assert.ok(pushes.length > 0, 'stage publishes report progress');
  });

  test('Ctrl-C stops the sandbox, exits 130, and the store and registry stay usable', async () => {
    // A command that never ends by itself, with a duration no other test run uses (two suites may
    // run at once): exit 130 with it gone proves the interrupt stopped it.
    const marker = `sleep ${100_000 + randomInt(800_000)}`;
    const dir = await project(`echo started; ${marker}; echo never`);
    const home = await temp('home');
    const repo = `${registry.host}/out-abort`;
    const child = spawn(process.execPath, [TSBUILD_BIN, 'build', '--dir', dir, '--repo', repo], {
      env: { ...process.env, TSBUILD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    let interrupted = false;
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      if (!interrupted && stderr.includes('│ started')) {
        interrupted = true; // once: a second Ctrl-C is the user insisting, not this test
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    assert.equal(code, 130, stderr);
    assert.match(stderr, /aborted/);
    // The sandbox is torn down when the CLI exits; the kernel may reap its last process a moment later.
    const running = async (): Promise<boolean> => (await exec('ps', ['-eo', 'args'])).stdout.split('\n').some((l) => l.trim() === marker);
    await waitUntil(async () => !(await running()), 'the sandboxed command is gone').catch(() => undefined);
    assert.ok(!(await running()), 'the sandboxed command is gone');
    assert.deepEqual(await readdir(join(home, 'snapshots', 'active')).catch(() => []), [], 'no snapshot left behind');
    // The stages published before the interruption are complete; the next build reuses them and finishes.
    await writeFile(join(dir, 'werf.yaml'), (await readFile(join(dir, 'werf.yaml'), 'utf8')).replace(marker, 'true'));
    const res = await runCli(['build', '--dir', dir, '--repo', repo], { home });
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stderr, /\[app\] from +cached/);
    const fresh = await runCli(['build', '--dir', dir, '--repo', repo], { home: await temp('home') });
    assert.equal(fresh.code, 0, fresh.stderr);
    assert.doesNotMatch(fresh.stderr, /building/);
  });
});
