// Where a registry may send tsbuild, and what travels there (reliability catalog B5-B7), against a
// real docker-registry with credentials behind the fault proxy: a storage host that a blob GET is
// redirected to and that answers 401 with a challenge of its own, redirect loops, upload Locations on
// another host or with another scheme, and a registry that keeps answering 401 to fresh tokens.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseReference } from '../../lib/oci/index.js';
import { RegistryError, getManifest, pullImage, pushImage, registryClient, staticCredentials } from '../../lib/registry/index.js';
import { proxiedRegistry } from '../support/proxied-registry.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { checkStore } from '../support/store-check.js';

const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const BASIC = `Basic ${Buffer.from('u:secret-pw').toString('base64')}`;

/** An HTTP server that records the headers of every request and answers with `answer`. */
async function recordingServer(
  answer: (url: string, res: import('node:http').ServerResponse) => void,
): Promise<{ server: Server; host: string; saw: Array<{ url: string; headers: IncomingHttpHeaders }> }> {
  const saw: Array<{ url: string; headers: IncomingHttpHeaders }> = [];
  const server = createServer((req, res) => {
    saw.push({ url: req.url ?? '', headers: { ...req.headers } });
    req.resume();
    answer(req.url ?? '', res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, host: `127.0.0.1:${(server.address() as AddressInfo).port}`, saw };
}

function close(server: Server | undefined): Promise<void> {
  if (!server) return Promise.resolve();
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('redirects and foreign hosts with basic auth', () => {
  const fx = proxiedRegistry({
    prefix: 'tsbuild-reg-redirects-',
    registry: { htpasswd: { user: 'u', password: 'secret-pw' } },
    seed: { creds: 'u:secret-pw' },
    client: () => registryClient({ credentials: staticCredentials({ username: 'u', password: 'secret-pw' }), retry: FAST_RETRY }),
  });
  let other: FaultProxy;
  const isBlobGet = (method: string, url: string): boolean => method === 'GET' && /\/blobs\/sha256:/.test(url);

  // Another origin in front of the same registry: "another host" for upload Locations.
  before(async () => {
    other = await startFaultProxy(fx.reg.host);
  });
  afterEach(() => {
    other.setRule(undefined);
    other.requests.length = 0;
  });
  after(async () => {
    await other?.stop();
  });

  test("a storage host's 401 challenge is not the registry's: no credentials reach it or the realm it names", async () => {
    const realm = await recordingServer((_url, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"token":"stolen"}'));
    const storage = await recordingServer((_url, res) =>
      res.writeHead(401, { 'www-authenticate': `Bearer realm="http://${realm.host}/token",service="evil"`, 'content-length': '0' }).end(),
    );
    try {
      fx.proxy.setRule((req) => (isBlobGet(req.method, req.url) ? { kind: 'redirect', location: `http://${storage.host}/blob?sig=abc` } : undefined));
      const store = fx.freshStore();
      const err: unknown = await pullImage(fx.client, fx.ref, store).then(
        () => assert.fail('the pull must fail'),
        (e: unknown) => e,
      );
      assert.deepEqual(
        realm.saw.map((r) => r.headers.authorization),
        [],
        'the realm a storage host names is never asked (on the old code it got the Basic credentials)',
      );
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.status, 401);
      assert.match(err.message, new RegExp(`${storage.host}, where ${fx.proxy.host} sent this request, refused it`));
      assert.doesNotMatch(err.message, /sig=abc/, 'the signed query is redacted');
      assert.ok(storage.saw.length > 0);
      for (const s of storage.saw) assert.equal(s.headers.authorization, undefined);
      assert.deepEqual(await checkStore(store.root), []);
      // The registry's own scheme is unchanged: the next pull without the redirect works with Basic.
      fx.proxy.setRule(undefined);
      await pullImage(fx.client, fx.ref, fx.freshStore());
      assert.ok(fx.proxy.requests.filter((r) => isBlobGet(r.method, r.url)).every((r) => r.headers.authorization === BASIC));
    } finally {
      await close(storage.server);
      await close(realm.server);
    }
  });

  test('a redirect loop stops after the hop limit with an error that says so', async () => {
    fx.proxy.setRule((req) => (isBlobGet(req.method, req.url) ? { kind: 'redirect', location: req.url } : undefined));
    await assert.rejects(pullImage(fx.client, fx.ref, fx.freshStore()), (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.code, 'TSB_REGISTRY_UNSUPPORTED');
      assert.equal(err.retryable, false);
      assert.match(err.message, /stopped after 5 redirects/);
      return true;
    });
    const perBlob = new Map<string, number>();
    for (const r of fx.proxy.requests.filter((q) => isBlobGet(q.method, q.url))) perBlob.set(r.url, (perBlob.get(r.url) ?? 0) + 1);
    for (const [url, count] of perBlob) assert.ok(count <= 6, `${url} asked ${count} times`);
  });

  test('an upload Location on another host gets the blob but never the Authorization; the push verifies', async () => {
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    fx.proxy.setRule((req) => {
      if (req.method !== 'POST' || !req.url.includes('/blobs/uploads/')) return undefined;
      return {
        kind: 'raw',
        write: (sock, up) => {
          const location = new URL(String(up.headers.location), `http://${fx.reg.host}`);
          sock.end(
            `HTTP/1.1 ${up.status} Accepted\r\nLocation: http://${other.host}${location.pathname}${location.search}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
          );
        },
      };
    });
    // The other host is a storage front that needs no registry credentials: it adds its own.
    other.setRule((req) => {
      req.headers.authorization = BASIC;
      return undefined;
    });
    // A fresh client: the pulling one would mount from the source repository instead of uploading.
    const fresh = registryClient({ credentials: staticCredentials({ username: 'u', password: 'secret-pw' }), retry: FAST_RETRY });
    try {
      const pushed = await pushImage(fresh, store, pulled.manifestDescriptor, `${fx.proxy.host}/moved/upload:v1`);
      assert.equal(pushed.digest, fx.layout.manifestDigest);
    } finally {
      await fresh.close();
    }
    const uploads = other.requests.filter((r) => r.method === 'PUT');
    assert.equal(uploads.length, 2, 'config and layer went to the other host');
    for (const u of uploads) assert.equal(u.headers.authorization, undefined);
    assert.equal((await getManifest(fx.client, parseReference(`${fx.proxy.host}/moved/upload:v1`))).descriptor.digest, fx.layout.manifestDigest);
  });

  test('an upload Location with another scheme is refused before anything connects, and not retried', async () => {
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    for (const location of ['file:///etc/passwd', `ftp://${other.host}/v2/upload`]) {
      fx.proxy.requests.length = 0;
      fx.proxy.setRule((req) =>
        req.method === 'POST' && req.url.includes('/blobs/uploads/') ? { kind: 'respond', status: 202, headers: { location } } : undefined,
      );
      const fresh = registryClient({ credentials: staticCredentials({ username: 'u', password: 'secret-pw' }), retry: FAST_RETRY });
      try {
        await assert.rejects(pushImage(fresh, store, pulled.manifestDescriptor, `${fx.proxy.host}/moved/scheme:v1`), (err: unknown) => {
          assert.ok(err instanceof RegistryError, String(err));
          assert.equal(err.code, 'TSB_REGISTRY_UNSUPPORTED');
          assert.match(err.message, /only http and https/);
          return true;
        });
      } finally {
        await fresh.close();
      }
      assert.ok(fx.proxy.requests.filter((r) => r.method === 'POST').length <= 2, 'one session per blob, none asked again');
      assert.deepEqual(other.requests, []);
    }
  });
});

describe('a token registry that never accepts its tokens', () => {
  let env: TokenAuthRegistry;
  let proxy: FaultProxy;
  let ref: string;

  before(async () => {
    env = await startTokenAuthRegistry({ user: 'alice', password: 'wonderland' });
    ref = `${(await seedBusyboxImage(env.registry.host, { creds: 'alice:wonderland' })).ref}`;
    proxy = await startFaultProxy(env.registry.host);
    ref = ref.replace(env.registry.host, proxy.host);
  });
  after(async () => {
    await proxy?.stop();
    await env?.stop();
  });

  test('401 to every fresh token, with a scope for another repository: one refresh per request, that scope never asked', async () => {
    const challenge = `Bearer realm="http://${env.tokenHost}/token",service="tsbuild-test-registry",scope="repository:other/secret:pull,push",error="insufficient_scope"`;
    proxy.setRule((req) => (req.url.includes('/manifests/') ? { kind: 'respond', status: 401, headers: { 'www-authenticate': challenge } } : undefined));
    env.tokenRequests.length = 0;
    const client = registryClient({ credentials: staticCredentials({ username: 'alice', password: 'wonderland' }), retry: FAST_RETRY });
    try {
      await assert.rejects(getManifest(client, parseReference(ref)), (err: unknown) => {
        assert.ok(err instanceof RegistryError, String(err));
        assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
        assert.match(err.message, new RegExp(`authentication failed for ${proxy.host}`));
        assert.doesNotMatch(`${err.message} ${err.hint}`, /wonderland/);
        return true;
      });
    } finally {
      await client.close();
    }
    assert.ok(proxy.requests.filter((r) => r.url.includes('/manifests/')).length <= 2, 'the first try and one after a fresh token');
    assert.ok(env.tokenRequests.length <= 2, `${env.tokenRequests.length} token requests`);
    for (const t of env.tokenRequests) assert.deepEqual(t.scopes, ['repository:library/busybox:pull']);
  });
});
