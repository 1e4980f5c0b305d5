// Cross-repository mounts from the blob-info cache: tsbuild remembers (in its home) where it saw
// each blob, and a push to another repository of the same registry mounts instead of uploading —
// for `image push`, `build --repo` stages and `build --push` alike. Checked with the registry's
// access log and skopeo.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage, type BusyboxLayout } from '../support/base-image.js';
import { runCli, tempDirs } from '../support/cli.js';
import { logOffset, requestsSince, type LoggedRequest } from '../support/access-log.js';

const exec = promisify(execFile);

async function skopeoDigest(ref: string): Promise<string> {
  const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
  return (JSON.parse(stdout) as { Digest: string }).Digest;
}

/** Blob uploads in the log: a chunk (PATCH) or a closing PUT of an upload session. */
function uploads(reqs: LoggedRequest[], repo: string): LoggedRequest[] {
  return reqs.filter((r) => r.uri.startsWith(`/v2/${repo}/blobs/uploads/`) && (r.method === 'PATCH' || r.method === 'PUT'));
}

function mounts(reqs: LoggedRequest[], repo: string): Array<{ digest: string; from: string }> {
  return reqs
    .filter((r) => r.method === 'POST' && r.uri.startsWith(`/v2/${repo}/blobs/uploads/?`))
    .map((r) => new URL(r.uri, 'http://x').searchParams)
    .filter((q) => q.has('mount'))
    .map((q) => ({ digest: q.get('mount')!, from: q.get('from')! }));
}

describe('cross-repository mounts from the blob-info cache', () => {
  let registry: RunningRegistry;
  let base: string;
  let layout: BusyboxLayout;
  const dirs = tempDirs();

  before(async () => {
    registry = await startRegistry();
    ({ ref: base, layout } = await seedBusyboxImage(registry.host, { repo: 'base/busybox' }));
  });
  after(async () => {
    await registry?.stop();
    await dirs.cleanup();
  });

  test('image push to a second and third repository mounts every blob seen at pull time and uploads nothing', async () => {
    const home = await dirs.make('mount-home');
    const pull = await runCli(['image', 'pull', base], { home });
    assert.equal(pull.code, 0, pull.stderr);
    for (const repo of ['copies/one', 'copies/two']) {
      const offset = await logOffset(registry);
      const res = await runCli(['image', 'push', base, `${registry.host}/${repo}:v1`], { home });
      assert.equal(res.code, 0, res.stderr);
      const reqs = await requestsSince(registry, offset);
      assert.deepEqual(uploads(reqs, repo), [], 'no blob is uploaded');
      const mounted = mounts(reqs, repo);
      assert.deepEqual(new Set(mounted.map((m) => m.digest)), new Set([layout.layerDigest, layout.configDigest]));
      // The first copy mounts from where the image was pulled; later ones from the newest sighting.
      assert.ok(
        mounted.every((m) => m.from === (repo === 'copies/one' ? 'base/busybox' : 'copies/one')),
        JSON.stringify(mounted),
      );
      assert.match(res.stderr, /mounted/);
      assert.equal(await skopeoDigest(`${registry.host}/${repo}:v1`), layout.manifestDigest);
    }
  });

  test('a push of mounted blobs keeps its connections: a HEAD answer does not close one', async () => {
    const home = await dirs.make('conn-home');
    const pull = await runCli(['image', 'pull', base], { home });
    assert.equal(pull.code, 0, pull.stderr);
    const offset = await logOffset(registry);
    const res = await runCli(['image', 'push', base, `${registry.host}/copies/conn:v1`], { home });
    assert.equal(res.code, 0, res.stderr);
    const reqs = (await requestsSince(registry, offset)).filter((r) => r.uri === '/v2/' || r.uri.startsWith('/v2/copies/conn/'));
    const blobs = new Set([layout.layerDigest, layout.configDigest]).size;
    // Ping, a HEAD and a mount per blob (in parallel), the manifest: the blobs' requests share one
    // connection each. undici closed the connection after every HEAD (2 blobs: 4 connections).
    assert.deepEqual(reqs.map((r) => r.method).sort(), ['GET', ...Array<string>(blobs).fill('HEAD'), ...Array<string>(blobs).fill('POST'), 'PUT'].sort());
    const connections = new Set(reqs.map((r) => r.remote));
    assert.ok(connections.size <= blobs, `${connections.size} connections for ${reqs.length} requests: ${JSON.stringify(reqs)}`);
  });

  test('a stale sighting costs one failed mount; the blob is uploaded and the sighting forgotten', async () => {
    const home = await dirs.make('stale-home');
    const pull = await runCli(['image', 'pull', base], { home });
    assert.equal(pull.code, 0, pull.stderr);
    const file = join(home, 'blob-info-cache.json');
    const cache = JSON.parse(await readFile(file, 'utf8')) as { blobs: Record<string, Record<string, Record<string, number>>> };
    // Claim the layer lives (more recently) in a repository that does not exist, and forget base/busybox.
    cache.blobs[layout.layerDigest] = { [registry.host]: { 'nowhere/at-all': Date.now() } };
    await writeFile(file, JSON.stringify(cache));
    const offset = await logOffset(registry);
    const res = await runCli(['image', 'push', base, `${registry.host}/copies/three:v1`], { home });
    assert.equal(res.code, 0, res.stderr);
    const reqs = await requestsSince(registry, offset);
    assert.deepEqual(
      mounts(reqs, 'copies/three').filter((m) => m.digest === layout.layerDigest),
      [{ digest: layout.layerDigest, from: 'nowhere/at-all' }],
    );
    assert.equal(uploads(reqs, 'copies/three').filter((r) => r.uri.includes(layout.layerDigest.slice(7))).length, 1, 'the layer is uploaded once');
    assert.equal(await skopeoDigest(`${registry.host}/copies/three:v1`), layout.manifestDigest);
    const after = JSON.parse(await readFile(file, 'utf8')) as typeof cache;
    assert.deepEqual(Object.keys(after.blobs[layout.layerDigest]![registry.host]!), ['copies/three']);
  });

  test('build --repo mounts the base layer into the stages repository, and --push mounts everything', async () => {
    const home = await dirs.make('build-home');
    const project = await dirs.make('build-project');
    await writeFile(join(project, 'werf.yaml'), `project: mount\nconfigVersion: 1\n---\nimage: app\nfrom: ${base}\nshell:\n  install: [echo hello > /hello]\n`);
    const offset = await logOffset(registry);
    const res = await runCli(['build', '--dir', project, '--repo', `${registry.host}/mount/stages`, '--push'], { home });
    assert.equal(res.code, 0, res.stderr);
    const reqs = await requestsSince(registry, offset);
    const stageUploads = uploads(reqs, 'mount/stages');
    assert.ok(!stageUploads.some((r) => r.uri.includes(layout.layerDigest.slice(7))), `the base layer is not uploaded: ${JSON.stringify(stageUploads)}`);
    assert.ok(mounts(reqs, 'mount/stages').some((m) => m.digest === layout.layerDigest && m.from === 'base/busybox'));
    assert.deepEqual(uploads(reqs, 'mount/stages/app'), [], 'the final image is made of mounted blobs only');
    const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${registry.host}/mount/stages/app:latest`]);
    assert.ok((JSON.parse(stdout) as { Layers: string[] }).Layers.includes(layout.layerDigest));
  });
});
