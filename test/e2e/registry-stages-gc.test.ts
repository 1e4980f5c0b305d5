// Maintenance of a stages repository: `stages list --repo` shows the records, `stages gc --repo
// --keep-days` deletes what no recently built final stage needs, `stages purge --repo [--project]`
// deletes a project's stages; tags that are not tsbuild stages are never touched.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { logOffset, requestsSince } from '../support/access-log.js';
import { runCli, tempDirs } from '../support/cli.js';

describe('stages repository maintenance (--repo)', () => {
  let registry: RunningRegistry;
  let base: string;
  let repo: string;
  const temps = tempDirs();
  const temp = temps.make;

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
    repo = `${registry.host}/stages`;
    // Something else living in the same repository: never a tsbuild stage.
    await seedBusyboxImage(registry.host, { repo: 'stages', tag: 'latest' });
  });
  after(async () => {
    await registry?.stop();
    await temps.cleanup();
  });

  async function build(projectName: string, setup: string): Promise<Record<string, string>> {
    const dir = await temp('gc-project');
    await writeFile(
      join(dir, 'werf.yaml'),
      `project: ${projectName}\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: [echo install > /install]\n  setup: [${JSON.stringify(setup)}]\ndocker:\n  WORKDIR: /\n`,
    );
    const home = await temp('home');
    const reportPath = join(home, 'report.json');
    const res = await runCli(['build', '--dir', dir, '--repo', repo, '--report-path', reportPath], { home });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    return Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));
  }

  async function listed(): Promise<string[]> {
    const res = await runCli(['stages', 'list', '--repo', repo], { home: await temp('home') });
    assert.equal(res.code, 0, res.stderr);
    return res.stdout.trim().split('\n').slice(1);
  }

  test('list shows every stage with its record; gc keeps what recent final stages need and deletes the rest', async () => {
    await build('gc', 'echo v1 > /setup');
    await build('gc', 'echo v2 > /setup');
    const rows = await listed();
    assert.equal(rows.length, 6, rows.join('\n')); // from, install, setup x2, dockerInstructions x2
    assert.ok(
      rows.every((r) => /^gc +app +\w+ +[0-9a-f]{12} +(-|[0-9a-f]{12}) +[0-9a-f]{12} +\d{4}-\d\d-\d\dT/.test(r)),
      rows.join('\n'),
    );

    // The window comes from the recorded build times, and gc's "now" is pinned (TSBUILD_NOW): the
    // cutoff falls between the two final stages however long the machine takes to get here.
    const finals = rows.filter((r) => / dockerInstructions /.test(r)).map((r) => Date.parse(r.split(/ +/)[6]!));
    assert.equal(finals.length, 2, rows.join('\n'));
    const [v1, v2] = finals as [number, number]; // listed oldest first
    assert.ok(v1 < v2, rows.join('\n'));
    const now = v2 + 3_600_000;
    const days = (now - (v1 + v2) / 2) / 86_400_000;
    const pinned = { TSBUILD_NOW: new Date(now).toISOString() };
    const dry = await runCli(['stages', 'gc', '--repo', repo, '--keep-days', String(days), '--dry-run'], { home: await temp('home'), env: pinned });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /would remove 2 stages .* kept 4/);
    assert.equal((await listed()).length, 6, 'a dry run deletes nothing');

    const offset = await logOffset(registry);
    const gc = await runCli(['stages', 'gc', '--repo', repo, '--keep-days', String(days)], { home: await temp('home'), env: pinned });
    assert.equal(gc.code, 0, gc.stderr);
    assert.match(gc.stdout, /removed gc app setup [0-9a-f]{12}/);
    assert.match(gc.stdout, /removed gc app dockerInstructions [0-9a-f]{12}/);
    assert.match(gc.stdout, /removed 2 stages .* kept 4/);
    const deletes = (await requestsSince(registry, offset)).filter((r) => r.method === 'DELETE');
    assert.equal(deletes.length, 2);
    assert.ok(
      deletes.every((d) => /^\/v2\/stages\/manifests\/sha256:[0-9a-f]{64}$/.test(d.uri)),
      JSON.stringify(deletes),
    );

    // What was kept is complete: a fresh runner of v2 is fully cached; v1 resumes after install.
    assert.deepEqual(new Set(Object.values(await build('gc', 'echo v2 > /setup'))), new Set(['cached']));
    assert.deepEqual(await build('gc', 'echo v1 > /setup'), { from: 'cached', install: 'cached', setup: 'built', dockerInstructions: 'built' });
  });

  test("purge --project deletes only that project's stages and leaves other tags alone", async () => {
    await build('other', 'echo other > /setup');
    const before = await listed();
    // Signatures do not depend on the project name: from and install are the stages project gc
    // published, so only setup and dockerInstructions are recorded as other's.
    const others = before.filter((r) => r.startsWith('other ')).length;
    assert.equal(others, 2, before.join('\n'));
    const purge = await runCli(['stages', 'purge', '--repo', repo, '--project', 'other'], { home: await temp('home') });
    assert.equal(purge.code, 0, purge.stderr);
    assert.match(purge.stdout, /removed 2 stages/);
    const after = await listed();
    assert.equal(after.length, before.length - 2);
    assert.ok(after.every((r) => r.startsWith('gc ')));
    const all = await runCli(['stages', 'purge', '--repo', repo], { home: await temp('home') });
    assert.equal(all.code, 0, all.stderr);
    assert.equal((await listed()).length, 0);
    // The non-stage tag survived.
    const inspect = await runCli(['image', 'inspect', `${repo}:latest`], { home: await temp('home') });
    assert.equal(inspect.code, 0, inspect.stderr);
  });

  test('a TSBUILD_NOW that is not a time is a usage error', async () => {
    const res = await runCli(['stages', 'gc', '--repo', repo, '--keep-days', '1'], { home: await temp('home'), env: { TSBUILD_NOW: 'yesterday' } });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /TSBUILD_NOW must be an ISO-8601 time/);
  });

  test('gc without --keep-days on a repository is a usage error with an example', async () => {
    const res = await runCli(['stages', 'gc', '--repo', repo], { home: await temp('home') });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /hint: for example: tsbuild stages gc --repo/);
  });
});
