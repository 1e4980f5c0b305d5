// A registry serving TLS on 127.0.0.1: tsbuild speaks https to it (Docker's rule for loopback hosts),
// trusts it through SSL_CERT_FILE, and without that explains the certificate problem (exit 3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, runCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);
/** The installed command: the shell script package.json names as "bin". */
const INSTALLED_BIN = join(REPO_ROOT, 'bin', 'tsbuild');

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

  test('the installed command trusts NODE_EXTRA_CA_CERTS, read on the first https connection rather than at start-up', async () => {
    // Node parses NODE_EXTRA_CA_CERTS before any script runs (and warns there when it cannot read it);
    // bin/tsbuild hands it on instead, so a command without TLS never reads it.
    const version = await exec(INSTALLED_BIN, ['--version'], { env: { ...process.env, NODE_EXTRA_CA_CERTS: '/nonexistent/ca.pem', SSL_CERT_FILE: '' } });
    assert.equal(version.stderr, '', 'node did not read the bundle while starting');
    const pullHome = await tempDir('tls-extra-ca');
    try {
      const env = { ...process.env, TSBUILD_HOME: pullHome.path, NODE_EXTRA_CA_CERTS: registry.caFile!, SSL_CERT_FILE: '' };
      const pulled = await exec(INSTALLED_BIN, ['image', 'pull', ref], { env });
      assert.match(pulled.stdout + pulled.stderr, /busybox/);
      const untrusted = await exec(INSTALLED_BIN, ['image', 'pull', ref], { env: { ...env, NODE_EXTRA_CA_CERTS: '' } }).then(
        () => 0,
        (err: { code: number }) => err.code,
      );
      assert.equal(untrusted, 3, 'without the CA the same pull fails on the certificate');
    } finally {
      await pullHome.cleanup();
    }
  });
});
