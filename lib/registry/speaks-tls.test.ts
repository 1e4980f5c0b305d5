import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createTlsServer } from 'node:tls';
import { startRegistry } from '../../test/support/registry.js';
import { selfSignedCert } from '../../test/support/self-signed-cert.js';
import { speaksTls } from './speaks-tls.js';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(`127.0.0.1:${(server.address() as { port: number }).port}`)));
}

test('the probe tells docker-registry with and without TLS apart', async () => {
  const plain = await startRegistry();
  const secure = await startRegistry({ tls: true });
  try {
    assert.equal(await speaksTls(plain.host, undefined), false);
    assert.equal(await speaksTls(secure.host, undefined), true);
  } finally {
    await plain.stop();
    await secure.stop();
  }
});

test('TLS servers count whatever they answer (ServerHello or alert); HTTP, a close or silence do not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-tls-probe-'));
  const servers: Server[] = [];
  try {
    const pem = await selfSignedCert(dir, '/CN=localhost');
    const [key, cert] = [await readFile(pem.keyPath), await readFile(pem.certPath)];
    const cases: Array<[string, Server, boolean]> = [
      ['TLS 1.3 only', createTlsServer({ key, cert, minVersion: 'TLSv1.3' }, (s) => s.end()), true],
      ['client certificate required', createTlsServer({ key, cert, requestCert: true, rejectUnauthorized: true }, (s) => s.end()), true],
      ['no shared cipher (alert)', createTlsServer({ key, cert, ciphers: 'DHE-RSA-AES256-SHA256', maxVersion: 'TLSv1.2' }, (s) => s.end()), true],
      ['HTTP', createHttpServer((_q, r) => r.end('hello')), false],
      ['closes at once', createNetServer((s) => s.destroy()), false],
      ['never answers', createNetServer(() => undefined), false],
    ];
    for (const [name, server, want] of cases) {
      servers.push(server);
      server.on('tlsClientError', () => undefined);
      const host = await listen(server);
      // A short deadline only for the silent server: it decides nothing else.
      assert.equal(await speaksTls(host, undefined, name === 'never answers' ? 300 : 60_000), want, name);
      assert.equal(await speaksTls(host.replace('127.0.0.1', 'localhost'), undefined, name === 'never answers' ? 300 : 60_000), want, `${name}, by name (SNI)`);
    }
  } finally {
    for (const s of servers) s.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('an aborted probe rejects; a closed port is not TLS', async () => {
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(speaksTls('127.0.0.1:1', ac.signal), /cancelled/);
  assert.equal(await speaksTls('127.0.0.1:1', undefined), false);
});
