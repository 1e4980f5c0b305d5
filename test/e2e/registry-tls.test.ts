// A registry serving TLS on 127.0.0.1: tsbuild speaks https to it (Docker's rule for loopback hosts),
// trusts it through SSL_CERT_FILE, and without that explains the certificate problem (exit 3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';

describe('registry over TLS', () => {
  let registry: RunningRegistry;
  let ref: string;
  let home: { path: string; cleanup(): Promise<void> };

  before(async () => {
    registry = await startRegistry({ tls: true });
    ref = (await seedBusyboxImage(registry.host)).ref;
    home = await tempDir('tls-home');
  });
  after(async () => {
    await registry?.stop();
    await home?.cleanup();
  });

  test('an untrusted certificate fails with a hint naming SSL_CERT_FILE', async () => {
    const res = await runCli(['image', 'pull', ref], { home: home.path, env: { SSL_CERT_FILE: '' } });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /SSL_CERT_FILE/);
  });

  test('with the CA trusted, pull and push go over https', async () => {
    let res = await runCli(['image', 'pull', ref], { home: home.path, env: { SSL_CERT_FILE: registry.caFile! } });
    assert.equal(res.code, 0, res.stderr);
    res = await runCli(['image', 'push', ref, `${registry.host}/copy/busybox:1`], { home: home.path, env: { SSL_CERT_FILE: registry.caFile! } });
    assert.equal(res.code, 0, res.stderr);
    res = await runCli(['image', 'inspect', '--remote', `${registry.host}/copy/busybox:1`], { home: home.path, env: { SSL_CERT_FILE: registry.caFile! } });
    assert.equal(res.code, 0, res.stderr);
  });
});
