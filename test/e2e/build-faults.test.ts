// Builds against a real registry behind the fault proxy: a base layer that stalls forever ends in
// exit 3 naming registry and blob; a gzip bomb base layer ends in TSB_TOO_LARGE with no snapshot,
// no temp dir and no stage left behind. Limits are set small through the environment. The transfer
// deadline is the CLI's one for every request (manifests and config from the real registry through
// the proxy too), so it is set to 2 s: short enough to end the stall soon, far above any answer of a
// registry on 127.0.0.1, however loaded the machine.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { pushImage, registryClient } from '../../lib/registry/index.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage, type BusyboxLayout } from '../support/base-image.js';
import { writeGzipBombImage } from '../support/gzip-bomb.js';
import { runCli, tempDirs } from '../support/cli.js';

async function entries(dir: string): Promise<string[]> {
  return readdir(dir).catch(() => []);
}

describe('build faults behind a fault proxy', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let layout: BusyboxLayout;
  let bombLayer: string;
  const dirs = tempDirs();

  before(async () => {
    reg = await startRegistry();
    layout = (await seedBusyboxImage(reg.host)).layout;
    const store = new LayoutStore(join(await dirs.make('bomb-src'), 'store'));
    await store.init();
    const bomb = await writeGzipBombImage(store, 512 << 20);
    bombLayer = bomb.layerDigest;
    const client = registryClient();
    try {
      await pushImage(client, store, bomb.manifest, `${reg.host}/hostile/bomb:latest`);
    } finally {
      await client.close();
    }
    proxy = await startFaultProxy(reg.host);
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    await dirs.cleanup();
  });

  async function project(from: string): Promise<string> {
    const dir = await dirs.make('faults-project');
    await writeFile(join(dir, 'werf.yaml'), `project: faults\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\nshell:\n  install: [echo hi > /hi]\n`);
    return dir;
  }

  test('a base layer that stalls forever: exit 3 naming registry, blob and what happened; nothing stored', async () => {
    proxy.setRule((req) =>
      req.method === 'GET' && req.url.includes(`/blobs/${layout.layerDigest}`) ? { kind: 'stall-after', bytes: req.headers.range ? 0 : 4096 } : undefined,
    );
    const home = await dirs.make('stall-home');
    const res = await runCli(['build', '--dir', await project(`${proxy.host}/library/busybox:latest`)], {
      home,
      env: { TSBUILD_TRANSFER_TIMEOUT: '2', TSBUILD_TRANSFER_RESUMES: '1' },
    });
    assert.equal(res.code, 3, res.stderr);
    assert.match(
      res.stderr,
      new RegExp(`blob ${layout.layerDigest} from ${proxy.host}/library/busybox stalled: no data for 2 s at 4096 of \\d+ bytes, 2 times`),
    );
    assert.match(res.stderr, /hint: .*TSBUILD_TRANSFER_TIMEOUT/);
    assert.deepEqual(await entries(join(home, 'store', 'blobs', 'sha256')).then((b) => b.filter((n) => `sha256:${n}` === layout.layerDigest)), []);
    assert.deepEqual(await entries(join(home, 'store', '.tmp')), [], 'no partial download left');
    proxy.setRule(undefined);
  });

  test('a gzip bomb base layer stops with TSB_TOO_LARGE at the configured limit; no snapshot, temp dir or stage left', async () => {
    const home = await dirs.make('bomb-home');
    const res = await runCli(['build', '--dir', await project(`${proxy.host}/hostile/bomb:latest`), '--max-layer-size', '128M'], { home });
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, new RegExp(`layer ${bombLayer} expands to more than ${128 << 20} bytes uncompressed`));
    assert.match(res.stderr, /hint: .*--max-layer-size/);
    for (const sub of ['tmp', 'active']) assert.deepEqual(await entries(join(home, 'snapshots', sub)), [], `snapshots/${sub}`);
    for (const sub of ['layers', 'native']) assert.deepEqual(await entries(join(home, 'snapshots', sub)), [], `snapshots/${sub}`);
    assert.deepEqual(await entries(join(home, 'tmp')), []);
    const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
    // The from stage only names the base image; no stage built on the layer is stored.
    const stages = index.manifests
      .filter((m) => m.annotations?.['org.opencontainers.image.ref.name']?.startsWith('stages/'))
      .map((m) => m.annotations?.['dev.tsbuild.stage']);
    assert.deepEqual(
      stages.filter((s) => s !== 'from'),
      [],
      'no stage built on the bomb is stored',
    );
    // The environment variable sets the same limit.
    const viaEnv = await runCli(['build', '--dir', await project(`${proxy.host}/hostile/bomb:latest`)], { home, env: { TSBUILD_MAX_LAYER_SIZE: '64M' } });
    assert.equal(viaEnv.code, 1, viaEnv.stderr);
    assert.match(viaEnv.stderr, new RegExp(`expands to more than ${64 << 20} bytes`));
  });
});
