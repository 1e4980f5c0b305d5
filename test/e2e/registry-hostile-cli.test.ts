// The CLI against a registry that misbehaves (fault proxy in front of a real docker-registry): a
// Ctrl-C during a Retry-After wait ends the command at once (reliability catalog B8), a pull into a
// full store fails with exit 4 and works once there is room (D6), and a push answered with an upload
// Location the registry should never name fails with exit 3 saying so.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { checkStore } from '../support/store-check.js';
import { runCli, startCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);

describe('tsbuild image against a misbehaving registry', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let work: { path: string; cleanup(): Promise<void> };
  let ref: string;
  const env = { XDG_RUNTIME_DIR: '', REGISTRY_AUTH_FILE: '' };

  before(async () => {
    reg = await startRegistry();
    await seedBusyboxImage(reg.host);
    proxy = await startFaultProxy(reg.host);
    ref = `${proxy.host}/library/busybox:latest`;
    work = await tempDir('reg-hostile-cli');
  });
  afterEach(() => {
    proxy.setRule(undefined);
    proxy.requests.length = 0;
  });
  after(async () => {
    await proxy?.stop();
    await reg?.stop();
    await work?.cleanup();
  });

  test('Ctrl-C while waiting out a Retry-After exits 130 at once: the retry is never sent, the store stays valid', async () => {
    proxy.setRule((req) => (req.url.includes('/manifests/') ? { kind: 'respond', status: 429, headers: { 'retry-after': '600' } } : undefined));
    const home = join(work.path, 'sigint');
    const cli = startCli(['image', 'pull', ref], { home, env });
    // Wait (polling, no deadline of its own) for the 429 to have been answered.
    while (!proxy.requests.some((r) => r.url.includes('/manifests/'))) await sleep(20);
    await sleep(100);
    cli.child.kill('SIGINT');
    assert.equal(await cli.exited, 130, cli.stderr());
    assert.doesNotMatch(cli.stderr(), /internal error/);
    assert.equal(proxy.requests.filter((r) => r.url.includes('/manifests/')).length, 1, 'no retry after the interrupt');
    assert.deepEqual(await checkStore(join(home, 'store')), []);
  });

  test('a pull into a store that runs out of space: exit 4 naming the store, no temp file left; with room again the same pull works', {
    skip: process.getuid?.() !== 0 && 'mounting a small tmpfs needs root',
  }, async () => {
    const home = join(work.path, 'enospc');
    const store = join(home, 'store');
    await mkdir(store, { recursive: true });
    // The busybox layer is ~1 MB: it cannot fit.
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=512k', 'tmpfs', store]);
    try {
      let res = await runCli(['image', 'pull', ref], { home, env });
      assert.equal(res.code, 4, res.stderr);
      assert.match(res.stderr, new RegExp(`no space left on device writing a blob into the store ${store}`));
      assert.match(res.stderr, /hint: free space/);
      assert.deepEqual(await checkStore(store), []);
      assert.deepEqual(await readdir(join(store, '.tmp')).catch(() => []), [], 'no temp file left');
      await exec('mount', ['-o', 'remount,size=16m', store]);
      res = await runCli(['image', 'pull', ref], { home, env });
      assert.equal(res.code, 0, res.stderr);
      assert.deepEqual(await checkStore(store), []);
    } finally {
      await exec('umount', [store]);
    }
  });

  test('a push whose upload Location has another scheme fails with exit 3 saying where it would not go', async () => {
    const home = join(work.path, 'push');
    assert.equal((await runCli(['image', 'pull', ref], { home, env })).code, 0);
    proxy.setRule((req) =>
      req.method === 'POST' && req.url.includes('/blobs/uploads/') ? { kind: 'respond', status: 202, headers: { location: 'file:///etc/passwd' } } : undefined,
    );
    const res = await runCli(['image', 'push', ref, `${proxy.host}/elsewhere/busybox:1`], { home, env });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /refusing to follow a redirect to file: \(only http and https are allowed\)/);
    assert.match(res.stderr, /hint: /);
    assert.equal(proxy.requests.filter((r) => r.method === 'PUT').length, 0, 'nothing was uploaded anywhere');
  });
});
