// Stages shared through a registry (--repo): a fresh runner finds a fully cached image with one
// manifest request and pulls no layer; a rebuilt stage pulls only what it builds on; concurrent
// runners both succeed.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';
import { logOffset, requestsSince } from '../support/access-log.js';

describe('stages in a registry (--repo)', () => {
  let registry: RunningRegistry;
  let base: string;
  const homes: Array<{ path: string; cleanup(): Promise<void> }> = [];
  let project: { path: string; cleanup(): Promise<void> };
  const home = async (): Promise<string> => {
    const h = await tempDir('runner');
    homes.push(h);
    return h.path;
  };

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
    project = await tempDir('stages-project');
  });
  after(async () => {
    await registry?.stop();
    for (const h of homes) await h.cleanup();
    await project?.cleanup();
  });

  const yaml = (setup: string): string => `project: shared
configVersion: 1
---
image: app
from: ${base}
shell:
  beforeInstall: [mkdir -p /opt/app, dd if=/dev/urandom of=/opt/app/big bs=1024 count=512 2>/dev/null]
  install: [echo install > /opt/app/install]
  setup: [${JSON.stringify(setup)}]
docker:
  CMD: [cat, /opt/app/setup]
`;

  async function build(homeDir: string, setup: string, extra: string[] = []): Promise<{ code: number; stderr: string; stages: Record<string, string> }> {
    await writeFile(join(project.path, 'werf.yaml'), yaml(setup));
    const reportPath = join(homeDir, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--repo', `${registry.host}/stages`, '--report-path', reportPath, ...extra], { home: homeDir });
    if (res.code !== 0) return { code: res.code, stderr: res.stderr, stages: {} };
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    return { code: 0, stderr: res.stderr, stages: Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status])) };
  }

  test('runner A builds and publishes; fresh runner B is fully cached with one manifest request and no layer pulled', async () => {
    const a = await build(await home(), 'echo v1 > /opt/app/setup');
    assert.equal(a.code, 0, a.stderr);
    assert.deepEqual(new Set(Object.values(a.stages)), new Set(['built']));
    const offset = await logOffset(registry);
    const homeB = await home();
    const b = await build(homeB, 'echo v1 > /opt/app/setup');
    assert.equal(b.code, 0, b.stderr);
    assert.deepEqual(new Set(Object.values(b.stages)), new Set(['cached']));
    const reqs = (await requestsSince(registry, offset)).filter((r) => r.uri.startsWith('/v2/stages/'));
    const manifests = reqs.filter((r) => r.uri.includes('/manifests/'));
    const blobs = reqs.filter((r) => r.uri.includes('/blobs/'));
    assert.equal(manifests.length, 1, JSON.stringify(reqs));
    assert.ok(blobs.length <= 1, `only the config blob may be read: ${JSON.stringify(blobs)}`);
    assert.ok(!reqs.some((r) => r.method !== 'GET' && r.method !== 'HEAD'), 'nothing written');
    // Running that image needs its layers: tsbuild says where to get them, then fetches them.
    let run = await runCli(['run', '--dir', project.path, 'app'], { home: homeB });
    assert.equal(run.code, 1);
    assert.match(run.stderr, /not in the local store[\s\S]*--repo/);
    run = await runCli(['run', '--dir', project.path, '--repo', `${registry.host}/stages`, 'app'], { home: homeB });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'v1\n');
  });

  test('a runner that rebuilds the last stage pulls only the layers it builds on, and publishes it', async () => {
    const offset = await logOffset(registry);
    const c = await build(await home(), 'echo v2 > /opt/app/setup');
    assert.equal(c.code, 0, c.stderr);
    assert.deepEqual(c.stages, { from: 'cached', beforeInstall: 'cached', install: 'cached', setup: 'built', dockerInstructions: 'built' });
    const reqs = await requestsSince(registry, offset);
    assert.ok(
      reqs.some((r) => r.method === 'PUT' && r.uri.includes('/v2/stages/manifests/')),
      'the new stages are published',
    );
    const d = await build(await home(), 'echo v2 > /opt/app/setup');
    assert.deepEqual(new Set(Object.values(d.stages)), new Set(['cached']));
  });

  test('two fresh runners building the same change at once both succeed', async () => {
    const [e, f] = await Promise.all([build(await home(), 'echo v3 > /opt/app/setup'), build(await home(), 'echo v3 > /opt/app/setup')]);
    assert.equal(e.code, 0, e.stderr);
    assert.equal(f.code, 0, f.stderr);
    const g = await build(await home(), 'echo v3 > /opt/app/setup');
    assert.deepEqual(new Set(Object.values(g.stages)), new Set(['cached']));
  });

  test('--push publishes the final image by name, mounting blobs from the stages repository', async () => {
    const offset = await logOffset(registry);
    const h = await build(await home(), 'echo v3 > /opt/app/setup', ['--push']);
    assert.equal(h.code, 0, h.stderr);
    const reqs = await requestsSince(registry, offset);
    const uploads = reqs.filter((r) => r.method === 'PATCH' || (r.method === 'PUT' && r.uri.includes('/blobs/uploads/')));
    assert.equal(uploads.length, 0, `no blob is uploaded again: ${JSON.stringify(uploads)}`);
    assert.ok(reqs.some((r) => r.method === 'PUT' && r.uri.startsWith('/v2/stages/app/manifests/latest')));
  });
});
