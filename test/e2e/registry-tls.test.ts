// A registry serving TLS on 127.0.0.1: tsbuild speaks https to it (Docker's rule for loopback hosts),
// trusts it through SSL_CERT_FILE, and without that explains the certificate problem (exit 3).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, runCli, tempDir } from '../support/cli.js';
import { RegistryClient } from '../../lib/registry/index.js';
import { TsbuildError } from '../../lib/errors.js';

const exec = promisify(execFile);
const MANIFEST_TYPES =
  'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json';
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

  test('a trusted certificate issued for another name fails (exit 3) with a hint about the name, not about CAs or plain http', async () => {
    // The certificate is for IP:127.0.0.1; reached as localhost it must not verify.
    const byName = ref.replace(registry.host, `localhost:${registry.host.split(':')[1]}`);
    const res = await runCli(['image', 'pull', byName], { home: home.path, env: { SSL_CERT_FILE: registry.caFile! } });
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /ERR_TLS_CERT_ALTNAME_INVALID/);
    assert.match(res.stderr, /hint: the certificate of localhost:\d+ is not issued for localhost: reach the registry by a name its certificate lists/);
    assert.doesNotMatch(res.stderr, /--insecure-registry|internal error/);
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
  test('a CA bundle is checked when the client is made and read at the first https connection', async () => {
    const dir = await tempDir('tls-ca-lazy');
    try {
      const usage = (name: string) => (err: unknown) => err instanceof TsbuildError && err.code === 'TSB_USAGE' && err.message.includes(name);
      assert.throws(() => new RegistryClient({ env: {}, caFile: join(dir.path, 'missing.pem') }), usage('missing.pem'));
      await mkdir(join(dir.path, 'a-directory'));
      assert.throws(() => new RegistryClient({ env: { SSL_CERT_FILE: join(dir.path, 'a-directory') } }), usage('a-directory'));
      // The bundle gets its certificate only after the client is made: a plain-http registry never
      // costs a read of it, and the https connection trusts what the file holds by then.
      const bundle = join(dir.path, 'ca.pem');
      await writeFile(bundle, '');
      const client = new RegistryClient({ env: {}, caFile: bundle, retry: { attempts: 1 } });
      await copyFile(registry.caFile!, bundle);
      try {
        const [repository, tag] = ref.slice(registry.host.length + 1).split(':') as [string, string];
        const res = await client.send({
          method: 'HEAD',
          registry: registry.host,
          repository,
          path: `manifests/${tag}`,
          headers: { accept: MANIFEST_TYPES },
          actions: ['pull'],
          okStatuses: [200],
        });
        assert.equal(res.status, 200);
        res.body.resume();
      } finally {
        await client.close();
      }
    } finally {
      await dir.cleanup();
    }
  });
});
