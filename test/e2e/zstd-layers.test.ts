// zstd layers (application/vnd.oci.image.layer.v1.tar+zstd): `build --layer-compression zstd`
// writes them without changing a single stage signature, skopeo (Go's zstd decoder) reads them back
// to the recorded diffIds, a fresh runner unpacks them from the registry, a zstd base pushed by
// skopeo is built on, and `image push --layer-compression zstd` recompresses a gzip image.
// umoci 0.4.7 (Debian 12) cannot unpack zstd layers ("blob is not correct mediatype"), so the
// tar content is checked with `zstd -d | tar t` instead.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage, type BusyboxLayout } from '../support/base-image.js';
import { runCli, tempDirs } from '../support/cli.js';

const exec = promisify(execFile);
const ZSTD = 'application/vnd.oci.image.layer.v1.tar+zstd';
const GZIP = 'application/vnd.oci.image.layer.v1.tar+gzip';

interface RawManifest {
  layers: Array<{ mediaType: string; digest: string; size: number }>;
  config: { digest: string };
}

async function skopeo(...args: string[]): Promise<string> {
  return (await exec('skopeo', args, { maxBuffer: 64 << 20 })).stdout;
}

async function rawManifest(ref: string): Promise<RawManifest> {
  return JSON.parse(await skopeo('inspect', '--raw', '--tls-verify=false', `docker://${ref}`)) as RawManifest;
}

/** skopeo decompresses every layer (Go's gzip/zstd readers) and stores it under its sha256: those must be the config's diff_ids. */
async function assertSkopeoDecodes(ref: string, dir: string): Promise<void> {
  await skopeo('copy', '--quiet', '--src-tls-verify=false', '--dest-decompress', `docker://${ref}`, `dir:${dir}`);
  const manifest = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as RawManifest;
  const config = JSON.parse(await readFile(join(dir, manifest.config.digest.slice(7)), 'utf8')) as { rootfs: { diff_ids: string[] } };
  const files = new Set(await readdir(dir));
  for (const id of config.rootfs.diff_ids)
    assert.ok(files.has(id.slice(7)), `skopeo's decompressed layer ${id} is missing: the zstd stream does not decode to the diffId`);
}

async function tarList(zstdBlob: string): Promise<string[]> {
  const { stdout } = await exec('sh', ['-c', 'zstd -q -d -c "$1" | tar -tf -', 'sh', zstdBlob], { maxBuffer: 16 << 20 });
  return stdout.split('\n').filter(Boolean);
}

describe('zstd layers', () => {
  let reg: RunningRegistry;
  let base: string;
  let layout: BusyboxLayout;
  const dirs = tempDirs();

  before(async () => {
    reg = await startRegistry();
    ({ ref: base, layout } = await seedBusyboxImage(reg.host, { repo: 'base/busybox' }));
  });
  after(async () => {
    await reg?.stop();
    await dirs.cleanup();
  });

  const werf = (from: string): string => `project: zstd
configVersion: 1
---
image: app
from: ${from}
shell:
  install: [mkdir -p /opt/app, echo zstd-layer > /opt/app/hello, "head -c 300000 /dev/urandom > /opt/app/noise"]
  setup: [echo setup >> /opt/app/hello]
docker:
  CMD: [cat, /opt/app/hello]
`;

  async function build(home: string, project: string, extra: string[]): Promise<Record<string, string>> {
    const report = join(home, 'report.json');
    const res = await runCli(['build', '--dir', project, '--report-path', report, ...extra], { home });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(await readFile(report, 'utf8')) as { images: Array<{ stages: Array<{ name: string; signature: string }> }> };
    return Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.signature]));
  }

  test('build --layer-compression zstd:5: same signatures as gzip, zstd stage layers that skopeo decodes, run by a fresh runner from the registry', async () => {
    const project = await dirs.make('zstd-project');
    await writeFile(join(project, 'werf.yaml'), werf(base));
    const homeZ = await dirs.make('zstd-home');
    const zstdSigs = await build(homeZ, project, ['--repo', `${reg.host}/z/stages`, '--layer-compression', 'zstd:5']);
    const gzipSigs = await build(await dirs.make('gzip-home'), project, []);
    assert.deepEqual(zstdSigs, gzipSigs, 'the layer compression is not part of any signature');

    const setup = await rawManifest(`${reg.host}/z/stages:${zstdSigs.setup}`);
    assert.deepEqual(
      setup.layers.map((l) => l.mediaType),
      [GZIP, ZSTD, ZSTD],
      'the base layer stays as pulled, the layers this build wrote are zstd',
    );
    await assertSkopeoDecodes(`${reg.host}/z/stages:${zstdSigs.setup}`, join(await dirs.make('skopeo-dir'), 'img'));
    const installLayer = setup.layers[1]!.digest;
    const listing = await tarList(join(homeZ, 'store', 'blobs', 'sha256', installLayer.slice(7)));
    assert.ok(listing.includes('opt/app/hello') && listing.includes('opt/app/noise'), listing.join(','));

    // A runner with an empty store finds every stage in the registry, then fetches the zstd layers to run the image.
    const runner = await dirs.make('runner');
    assert.deepEqual(await build(runner, project, ['--repo', `${reg.host}/z/stages`]), zstdSigs);
    const run = await runCli(['run', '--dir', project, '--repo', `${reg.host}/z/stages`, 'app'], { home: runner });
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stdout, 'zstd-layer\nsetup\n');
  });

  test('a zstd base pushed by skopeo is pulled and built on', async () => {
    // A registry of its own: skopeo reuses a known gzip blob of the same layer if the registry has one.
    const zreg = await startRegistry();
    try {
      const plain = join(await dirs.make('plain'), 'busybox');
      await skopeo('copy', '--quiet', '--dest-decompress', `oci:${layout.dir}:latest`, `dir:${plain}`);
      const zbase = `${zreg.host}/base/busybox-zstd:1`;
      await skopeo('copy', '--quiet', '--dest-tls-verify=false', '--dest-compress-format', 'zstd', `dir:${plain}`, `docker://${zbase}`);
      assert.deepEqual(
        (await rawManifest(zbase)).layers.map((l) => l.mediaType),
        [ZSTD],
      );
      const project = await dirs.make('zbase-project');
      await writeFile(join(project, 'werf.yaml'), werf(zbase));
      const home = await dirs.make('zbase-home');
      await build(home, project, []);
      const run = await runCli(['run', '--dir', project, 'app'], { home });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'zstd-layer\nsetup\n');
    } finally {
      await zreg.stop();
    }
  });

  test('image push --layer-compression zstd recompresses a gzip image (same diffIds); bad levels are usage errors', async () => {
    const home = await dirs.make('push-home');
    const pull = await runCli(['image', 'pull', base], { home });
    assert.equal(pull.code, 0, pull.stderr);
    const dest = `${reg.host}/copies/busybox-zstd:1`;
    const res = await runCli(['image', 'push', '--layer-compression', 'zstd', base, dest], { home });
    assert.equal(res.code, 0, res.stderr);
    const m = await rawManifest(dest);
    assert.deepEqual(
      m.layers.map((l) => l.mediaType),
      [ZSTD],
    );
    assert.equal(m.config.digest, layout.configDigest, 'the config (diff_ids) is unchanged');
    await assertSkopeoDecodes(dest, join(await dirs.make('skopeo-push'), 'img'));
    for (const bad of ['zstd:99', 'brotli', 'gzip:9']) {
      const r = await runCli(['image', 'push', '--layer-compression', bad, base, dest], { home });
      assert.equal(r.code, 2, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /gzip, zstd or zstd:LEVEL/);
    }
  });
});
