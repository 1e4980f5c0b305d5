// A failed build is reported like a successful one: --report-path is written with every image's and
// stage's status (built, cached, failed, cancelled, not-run) and the error (code, message, hint);
// the plain and live views say "cancelled" for the image stopped because another failed; JSON logs
// end with an `error` event. The order of events is forced through a shared host directory (the
// failing stage waits until the other image's stage has started), never by timing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, TSBUILD_BIN, runCli, tempDirs } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const exec = promisify(execFile);
const shq = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Report {
  status: string;
  images: Array<{ name: string; status: string; error?: string; stages: Array<{ name: string; signature: string; status: string }> }>;
  error?: { code: string; message: string; hint?: string; exitCode: number };
}

describe('a failed build is reported', () => {
  const temps = tempDirs();
  let project: string;
  let shared: string;
  let home: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await homeWithLocalBase('fail-home');
    project = await temps.make('fail-project');
    shared = await temps.make('fail-shared');
    await chmod(shared, 0o777); // written from inside the sandbox, as a mapped user
    await writeFile(
      join(project, 'werf.yaml'),
      `project: fails
configVersion: 1
---
image: slow
from: local.test/base:1
mount:
- fromPath: ${shared}
  to: /shared
shell:
  install:
  - touch /shared/started; while true; do sleep 0.2; done
---
image: bad
from: local.test/base:1
mount:
- fromPath: ${shared}
  to: /shared
shell:
  beforeInstall: [echo prepared]
  install:
  - while [ ! -f /shared/started ]; do sleep 0.1; done; echo boom; exit 3
  setup: [echo never]
---
image: after
fromImage: bad
shell:
  install: [echo after]
`,
    );
  });
  after(async () => {
    await home?.cleanup();
    await temps.cleanup();
  });

  async function failingBuild(extra: string[]): Promise<{ code: number; stdout: string; stderr: string; report: Report }> {
    await rm(join(shared, 'started'), { force: true });
    const reportPath = join(project, 'report.json');
    await rm(reportPath, { force: true });
    const res = await runCli(['build', '--dir', project, '--pull', 'never', '--parallel', '2', '--report-path', reportPath, ...extra], { home: home.path });
    return { ...res, report: JSON.parse(await readFile(reportPath, 'utf8')) as Report };
  }

  const statuses = (r: Report): Record<string, string> =>
    Object.fromEntries(r.images.flatMap((i) => [[i.name, i.status], ...i.stages.map((s) => [`${i.name}/${s.name}`, s.status])]));

  test('--report-path: every stage with its status and the error; plain lines say cancelled', async () => {
    const res = await failingBuild(['--log-format', 'plain']);
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.report.status, 'failed');
    const got = statuses(res.report);
    // Both images start from the same base: one builds that stage, the other may find it stored.
    for (const k of ['slow/from', 'bad/from']) assert.match(got[k] ?? '', /^(built|cached)$/, k);
    assert.deepEqual(
      { ...got, 'slow/from': 'built', 'bad/from': 'built' },
      {
        slow: 'cancelled',
        'slow/from': 'built',
        'slow/install': 'cancelled',
        bad: 'failed',
        'bad/from': 'built',
        'bad/beforeInstall': 'built',
        'bad/install': 'failed',
        'bad/setup': 'not-run',
        after: 'cancelled',
      },
    );
    for (const s of res.report.images.flatMap((i) => i.stages)) assert.match(s.signature, /^[0-9a-f]{64}$/);
    assert.equal(res.report.error?.code, 'TSB_STAGE_FAILED');
    assert.match(res.report.error?.message ?? '', /^image "bad", stage install: command failed with exit code 3/);
    assert.match(res.report.error?.hint ?? '', /fix the command/);
    assert.equal(res.report.error?.exitCode, 1);
    assert.match(res.stderr, /\[slow\] install +cancelled \(another image failed\)/);
    assert.match(res.stderr, /\[bad\] install +FAILED/);
    assert.doesNotMatch(res.stderr, /\[slow\] install +FAILED/);
    assert.match(res.stderr, /^tsbuild: error: image "bad", stage install: command failed with exit code 3/m);
  });

  test("--log-format json: the last line is an error event with the report's fields", async () => {
    const res = await failingBuild(['--log-format', 'json']);
    assert.equal(res.code, 1, res.stderr);
    const events = res.stderr
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const last = events[events.length - 1]!;
    assert.equal(last.type, 'error');
    const { time: _time, type: _type, ...fields } = last;
    assert.deepEqual(fields, res.report.error);
    assert.ok(events.some((e) => e.type === 'stage.cancelled' && e.image === 'slow' && e.stage === 'install'));
    assert.ok(events.some((e) => e.type === 'image.failed' && e.image === 'bad'));
    assert.ok(events.some((e) => e.type === 'image.cancelled' && e.image === 'after'));
    const planned = events.find((e) => e.type === 'image.start' && e.image === 'bad') as { stages: Array<{ stage: string }> } | undefined;
    assert.deepEqual(
      planned?.stages.map((s) => s.stage),
      ['from', 'beforeInstall', 'install', 'setup'],
    );
    assert.doesNotMatch(res.stderr, /tsbuild: error:/, 'JSON mode prints no text lines');
    // This time bad's first stages are stored: the report says cached.
    assert.equal(statuses(res.report)['bad/beforeInstall'], 'cached');
  });

  test('on a terminal: the stopped image says cancelled, not FAILED', async () => {
    await rm(join(shared, 'started'), { force: true });
    const cmd = [process.execPath, TSBUILD_BIN, 'build', '--dir', project, '--pull', 'never', '--parallel', '2'].map(shq).join(' ');
    let text = '';
    try {
      await exec('script', ['-qefc', cmd, '/dev/null'], {
        cwd: REPO_ROOT,
        env: { ...process.env, TSBUILD_HOME: home.path, TERM: 'xterm' },
        maxBuffer: 64 << 20,
      });
    } catch (err) {
      text = (err as { stdout?: string }).stdout ?? '';
    }
    const plain = text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
    assert.match(plain, /install +[0-9a-f]{12} +cancelled/);
    assert.match(plain, /install +[0-9a-f]{12} +FAILED after/);
    assert.equal((plain.match(/FAILED after/g) ?? []).length, 1, 'only the image that failed says FAILED');
  });

  test('a failure before any stage ran: the image is failed with its error, the report and the JSON error say why', async () => {
    const dir = await temps.make('fail-base');
    // Nothing listens on port 9: fromLatest needs the base's current digest to plan, so nothing is planned.
    await writeFile(
      join(dir, 'werf.yaml'),
      'project: nobase\nconfigVersion: 1\n---\nimage: app\nfrom: 127.0.0.1:9/absent:1\nfromLatest: true\nshell:\n  install: [echo x]\n',
    );
    const reportPath = join(dir, 'report.json');
    const res = await runCli(['build', '--dir', dir, '--report-path', reportPath, '--log-format', 'json'], { home: home.path });
    assert.equal(res.code, 3, res.stderr);
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    assert.equal(report.status, 'failed');
    assert.deepEqual(
      report.images.map((i) => [i.name, i.status, i.stages.length]),
      [['app', 'failed', 0]],
    );
    assert.match(report.images[0]!.error ?? '', /cannot reach 127\.0\.0\.1:9 for base image 127\.0\.0\.1:9\/absent:1/);
    assert.equal(report.error?.code, 'TSB_REGISTRY_NETWORK');
    assert.match(report.error?.hint ?? '', /tsbuild image load/);
    assert.equal(report.error?.exitCode, 3);
    const last = JSON.parse(res.stderr.trim().split('\n').pop()!) as Record<string, unknown>;
    assert.equal(last.type, 'error');
    assert.equal(last.code, 'TSB_REGISTRY_NETWORK');
  });

  test('a failure before building (a bad flag, a missing werf.yaml) still writes the report and the JSON error', async () => {
    const dir = await temps.make('fail-early');
    const reportPath = join(dir, 'report.json');
    const res = await runCli(['build', '--dir', project, '--parallel', '0', '--report-path', reportPath, '--log-format', 'json'], { home: home.path });
    assert.equal(res.code, 2, res.stderr);
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as Report;
    assert.deepEqual(
      { status: report.status, images: report.images, code: report.error?.code, exitCode: report.error?.exitCode },
      { status: 'failed', images: [], code: 'TSB_USAGE', exitCode: 2 },
    );
    assert.match(report.error?.message ?? '', /--parallel must be a positive integer/);
    const noConfig = await runCli(['build', '--dir', dir, '--report-path', reportPath], { home: home.path });
    assert.equal(noConfig.code, 2);
    assert.match(noConfig.stderr, /^tsbuild: config error: /m, 'plain format: the error as text');
    assert.equal((JSON.parse(await readFile(reportPath, 'utf8')) as Report).error?.code, 'TSB_CONFIG_NOT_FOUND');
  });
});
