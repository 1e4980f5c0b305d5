// --registry-mirror: base images of a registry are fetched from a mirror, under the rewritten name;
// the store name and the stage signatures keep the reference as written in werf.yaml.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { logOffset, requestsSince } from '../support/access-log.js';
import { runCli, tempDirs } from '../support/cli.js';

describe('--registry-mirror', () => {
  let mirror: RunningRegistry;
  const temps = tempDirs();
  const temp = temps.make;

  before(async () => {
    mirror = await startRegistry();
    // docker.io/library/tsbuild-mirror-base:1 does not exist on Docker Hub (and there is no network here).
    await seedBusyboxImage(mirror.host, { repo: 'library/tsbuild-mirror-base', tag: '1' });
    await seedBusyboxImage(mirror.host, { repo: 'hub/library/tsbuild-mirror-base', tag: '1' });
  });
  after(async () => {
    await mirror?.stop();
    await temps.cleanup();
  });

  async function project(extra = ''): Promise<string> {
    const dir = await temp('mirror-project');
    await writeFile(
      join(dir, 'werf.yaml'),
      `project: mirrored\nconfigVersion: 1\n---\nimage: app\nfrom: tsbuild-mirror-base:1\n${extra}shell:\n  install: [echo hi > /hi]\n`,
    );
    return dir;
  }

  test('the base is pulled from the mirror and stored under the name as written; signatures do not change', async () => {
    const dir = await project();
    const home = await temp('home');
    const planned = await runCli(['plan', '--dir', dir, '--log-format', 'json'], { home: await temp('plan-home') });
    assert.equal(planned.code, 0, planned.stderr);
    const plannedSigs = (JSON.parse(planned.stdout) as { images: Array<{ stages: Array<{ signature: string }> }> }).images[0]!.stages.map((s) => s.signature);
    const offset = await logOffset(mirror);
    const reportPath = join(home, 'report.json');
    const res = await runCli(['build', '--dir', dir, '--registry-mirror', `docker.io=${mirror.host}`, '--report-path', reportPath], { home });
    assert.equal(res.code, 0, res.stderr);
    const reqs = await requestsSince(mirror, offset);
    assert.ok(
      reqs.some((r) => r.uri === '/v2/library/tsbuild-mirror-base/manifests/1'),
      JSON.stringify(reqs),
    );
    const report = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ signature: string }> }> };
    assert.deepEqual(
      report.images[0]!.stages.map((s) => s.signature),
      plannedSigs,
    );
    const list = await runCli(['image', 'list'], { home });
    assert.match(list.stdout, /docker\.io\/library\/tsbuild-mirror-base:1/);
  });

  test('a mirror with a repository prefix also serves fromLatest digest checks', async () => {
    const dir = await project('fromLatest: true\n');
    const home = await temp('home');
    const offset = await logOffset(mirror);
    const res = await runCli(['build', '--dir', dir, '--registry-mirror', `docker.io=${mirror.host}/hub`], { home });
    assert.equal(res.code, 0, res.stderr);
    const reqs = await requestsSince(mirror, offset);
    assert.ok(
      reqs.some((r) => r.method === 'HEAD' && r.uri === '/v2/hub/library/tsbuild-mirror-base/manifests/1'),
      JSON.stringify(reqs),
    );
    assert.ok(reqs.some((r) => r.method === 'GET' && r.uri.startsWith('/v2/hub/library/tsbuild-mirror-base/blobs/')));
  });

  test('a malformed --registry-mirror is a usage error with an example', async () => {
    const res = await runCli(['build', '--dir', await project(), '--registry-mirror', 'docker.io'], { home: await temp('home') });
    assert.equal(res.code, 2);
    assert.match(res.stderr, /REGISTRY=MIRROR/);
    assert.match(res.stderr, /hint: for example --registry-mirror docker\.io=127\.0\.0\.1:5000/);
  });
});
