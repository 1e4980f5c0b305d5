import { mock, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { RegistryAuth } from './registry-auth.js';
import { staticCredentials } from './credentials.js';
import { HttpTransport } from './http-transport.js';
import { selfSignedCert } from '../../test/support/self-signed-cert.js';

function authFor(baseUrl: string, transport: HttpTransport): RegistryAuth {
  return new RegistryAuth({
    registry: new URL(baseUrl).host,
    baseUrl,
    credentials: staticCredentials({ username: 'u', password: 'secret' }),
    transport,
    userAgent: 't',
    headersTimeoutMs: 60_000,
    bodyTimeoutMs: 60_000,
  });
}

/** A token realm on 127.0.0.1 answering `reply(headers, count)` as JSON; records the request headers. */
async function realm(
  server: Server,
  scheme: 'http' | 'https',
  reply: (n: number) => object,
): Promise<{ url: string; seen: IncomingHttpHeaders[]; close: () => Promise<void> }> {
  const seen: IncomingHttpHeaders[] = [];
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    seen.push(req.headers);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(reply(seen.length)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${scheme}://127.0.0.1:${port}/token`, seen, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

test('an https registry never sends Basic credentials to a plain-http token realm', async () => {
  const r = await realm(createHttpServer(), 'http', () => ({ token: 'anon-token' }));
  const transport = new HttpTransport();
  try {
    const auth = authFor('https://reg.example', transport);
    await auth.unauthorized(`Bearer realm="${r.url}",service="reg"`, ['repository:a:pull'], 'a');
    assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer anon-token');
    assert.equal(r.seen.length, 1);
    assert.equal(r.seen[0]!.authorization, undefined);
  } finally {
    transport.close();
    await r.close();
  }
});

test('an https realm gets Basic credentials; the token is cached per scope set', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-realm-'));
  const { keyPath, certPath } = await selfSignedCert(dir, '/CN=127.0.0.1', 'IP:127.0.0.1');
  const cert = await readFile(certPath, 'utf8');
  const r = await realm(createHttpsServer({ key: await readFile(keyPath), cert }), 'https', (n) => ({ access_token: `t${n}`, expires_in: 1 }));
  const transport = new HttpTransport([cert]);
  try {
    const auth = authFor('https://reg.example', transport);
    await auth.unauthorized(`Bearer realm="${r.url}",service="reg"`, [], undefined);
    assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer t1');
    // expires_in below the 60 s minimum is raised to it, so no refresh storm
    assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer t1');
    assert.equal(await auth.authorization(['repository:a:pull,push'], 'a', undefined), 'Bearer t2');
    assert.equal(r.seen.length, 2);
    assert.equal(r.seen[0]!.authorization, `Basic ${Buffer.from('u:secret').toString('base64')}`);
  } finally {
    transport.close();
    await r.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('realms with userinfo or foreign schemes are refused', async () => {
  const transport = new HttpTransport();
  for (const realmUrl of ['ftp://realm.example/token', 'https://x:y@realm.example/token']) {
    const auth = authFor('https://reg.example', transport);
    await auth.unauthorized(`Bearer realm="${realmUrl}"`, [], undefined);
    await assert.rejects(auth.authorization(['repository:a:pull'], 'a', undefined), { code: 'TSB_REGISTRY_UNAUTHORIZED' });
  }
  transport.close();
});

test('a token endpoint answering nothing usable is a clear auth error: no token, an empty one, junk, a body past 1 MiB, a token that would break a header', async () => {
  const cases: Array<[string, string, RegExp]> = [
    ['{}', 'TSB_REGISTRY_UNAUTHORIZED', /returned no token/],
    ['{"token":"","access_token":""}', 'TSB_REGISTRY_UNAUTHORIZED', /returned no token/],
    ['<html>', 'TSB_REGISTRY_UNAUTHORIZED', /did not answer JSON/],
    [JSON.stringify({ token: 'x'.repeat(1 << 20) }), 'TSB_TOO_LARGE', /1048576-byte limit/],
    [JSON.stringify({ token: 'abc\r\nX-Injected: 1' }), 'TSB_REGISTRY_UNAUTHORIZED', /cannot be sent/],
    [JSON.stringify({ token: 'a b' }), 'TSB_REGISTRY_UNAUTHORIZED', /cannot be sent/],
  ];
  let body = '';
  const server = createHttpServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const realmUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  const transport = new HttpTransport();
  try {
    for (const [answer, code, message] of cases) {
      body = answer;
      const auth = authFor('http://127.0.0.1:1', transport);
      await auth.unauthorized(`Bearer realm="${realmUrl}",service="reg"`, [], undefined);
      await assert.rejects(auth.authorization(['repository:a:pull'], 'a', undefined), (err: Error & { code?: string }) => {
        assert.equal(err.code, code, `${answer.slice(0, 40)}: ${err.message}`);
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /secret|X-Injected/);
        return true;
      });
    }
  } finally {
    transport.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('token lifetimes count from local receipt: expires_in 10^12 is capped at a day (a future issued_at ignored), expires_in -1 lives the 60 s minimum', async () => {
  const r = await realm(createHttpServer(), 'http', (n) =>
    n === 1 ? { token: 't1', expires_in: 1e12, issued_at: '2099-01-01T00:00:00Z' } : n === 2 ? { token: 't2', expires_in: -1 } : { token: `t${n}` },
  );
  const transport = new HttpTransport();
  // Only Date is mocked: the token requests are real HTTP with real timers.
  mock.timers.enable({ apis: ['Date'], now: Date.now() });
  try {
    const auth = authFor('http://127.0.0.1:1', transport);
    await auth.unauthorized(`Bearer realm="${r.url}",service="reg"`, [], undefined);
    const bearer = (): Promise<string | undefined> => auth.authorization(['repository:a:pull'], 'a', undefined);
    assert.equal(await bearer(), 'Bearer t1');
    mock.timers.tick(23 * 3600_000);
    assert.equal(await bearer(), 'Bearer t1', 'still valid after 23 h');
    mock.timers.tick(3600_000 + 1000);
    assert.equal(await bearer(), 'Bearer t2', 'the 10^12 s token was dropped after a day');
    mock.timers.tick(50_000);
    assert.equal(await bearer(), 'Bearer t2', 'expires_in -1 still lives the minimum');
    mock.timers.tick(11_000);
    assert.equal(await bearer(), 'Bearer t3');
    assert.equal(r.seen.length, 3);
  } finally {
    mock.timers.reset();
    transport.close();
    await r.close();
  }
});
