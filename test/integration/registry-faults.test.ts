// Registry misbehaviour, injected by an in-process proxy in front of a real docker-registry:
// transient errors, Retry-After, resets mid-blob, corrupt bytes, oversized and odd manifests,
// cross-origin redirects (credentials must not follow) and auth loops.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { readFile, readdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DigestMismatchError, TsbuildError } from '../../lib/errors.js';
import { LayoutStore } from '../../lib/content/index.js';
import { parseReference } from '../../lib/oci/index.js';
import { RegistryError, getManifest, pullImage, pushImage, registryClient, staticCredentials } from '../../lib/registry/index.js';
import { proxiedRegistry } from '../support/proxied-registry.js';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage, type BusyboxLayout } from '../support/base-image.js';

const FAST_RETRY = { attempts: 4, baseDelayMs: 20, maxDelayMs: 100 };
/**
 * The body deadline of the stall tests: what ends a stalled blob. It also covers the healthy part of
 * that blob (and the manifest and config bodies), streamed by a real registry through the proxy, so
 * it is kept well above any pause a loaded machine makes; the headers deadline stays at its default.
 */
const STALL_MS = 1000;
const isLayerGet = (layout: BusyboxLayout) => (method: string, url: string) => method === 'GET' && url.includes(`/blobs/${layout.layerDigest}`);

async function blobFiles(store: LayoutStore): Promise<string[]> {
  const names = await readdir(join(store.root, 'blobs', 'sha256')).catch(() => []);
  return names.map((n) => `sha256:${n}`);
}

describe('registry faults (anonymous registry behind a fault proxy)', () => {
  const fx = proxiedRegistry({ prefix: 'tsbuild-reg-faults-', client: () => registryClient({ retry: FAST_RETRY }) });

  test('a 500 on the manifest is retried and the pull succeeds', async () => {
    fx.proxy.setRule((req, nth) =>
      req.method === 'GET' && req.url.includes('/manifests/') && nth === 0
        ? { kind: 'respond', status: 500, body: '{"errors":[{"code":"UNKNOWN"}]}' }
        : undefined,
    );
    const pulled = await pullImage(fx.client, fx.ref, fx.freshStore());
    assert.equal(pulled.manifestDescriptor.digest, fx.layout.manifestDigest);
    assert.equal(fx.proxy.requests.filter((r) => r.method === 'GET' && r.url.includes('/manifests/')).length, 2);
  });

  test('429 with Retry-After is honoured before retrying', async () => {
    fx.proxy.setRule((req, nth) =>
      req.method === 'GET' && req.url.includes('/manifests/') && nth === 0 ? { kind: 'respond', status: 429, headers: { 'retry-after': '1' } } : undefined,
    );
    const t0 = Date.now();
    await pullImage(fx.client, fx.ref, fx.freshStore());
    const waited = Date.now() - t0;
    assert.ok(waited >= 950, `waited only ${waited} ms`);
  });

  test('persistent 503 gives up after the configured attempts with a retryable RegistryError', async () => {
    fx.proxy.setRule((req) => (req.url.includes('/manifests/') ? { kind: 'respond', status: 503 } : undefined));
    await assert.rejects(pullImage(fx.client, fx.ref, fx.freshStore()), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.status, 503);
      assert.equal(err.retryable, true);
      return true;
    });
    assert.equal(fx.proxy.requests.filter((r) => r.url.includes('/manifests/')).length, FAST_RETRY.attempts);
  });

  test('a connection reset mid-blob resumes with a Range request and the blob verifies', async () => {
    const layerGet = isLayerGet(fx.layout);
    fx.proxy.setRule((req, nth) => (layerGet(req.method, req.url) && nth === 0 ? { kind: 'reset-after', bytes: 300_000 } : undefined));
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    const gets = fx.proxy.requests.filter((r) => layerGet(r.method, r.url));
    assert.equal(gets.length, 2);
    assert.equal(gets[0]!.headers.range, undefined);
    assert.match(String(gets[1]!.headers.range), /^bytes=\d+-$/);
    assert.ok(Number(/=(\d+)-/.exec(String(gets[1]!.headers.range))![1]) > 0);
    const layer = pulled.manifest.layers[0]!;
    assert.equal((await store.stat(layer.digest))?.size, layer.size);
    // read() verifies the digest at the end of the stream
    for await (const _ of store.read(layer.digest, { size: layer.size })) void _;
  });

  test('a blob that stalls at the same point every time fails after the configured resumes, naming registry and blob', async () => {
    const layerGet = isLayerGet(fx.layout);
    const layerSize = (await stat(join(fx.layout.dir, 'blobs', 'sha256', fx.layout.layerDigest.slice('sha256:'.length)))).size;
    const half = Math.floor(layerSize / 2);
    // A server that hangs at 50 %: the first GET sends half and then nothing; every resume hangs at once.
    fx.proxy.setRule((req) => (layerGet(req.method, req.url) ? { kind: 'stall-after', bytes: req.headers.range ? 0 : half } : undefined));
    const stallClient = registryClient({ retry: FAST_RETRY, bodyTimeoutMs: STALL_MS, maxStallResumes: 2 });
    const store = fx.freshStore();
    try {
      await assert.rejects(pullImage(stallClient, fx.ref, store), (err: unknown) => {
        assert.ok(err instanceof RegistryError, String(err));
        assert.equal(err.code, 'TSB_REGISTRY_NETWORK');
        assert.match(
          err.message,
          new RegExp(
            `blob ${fx.layout.layerDigest} from ${fx.proxy.host}/library/busybox stalled: no data for ${STALL_MS / 1000} s at ${half} of ${layerSize} bytes, 3 times`,
          ),
        );
        assert.match(err.hint ?? '', /TSBUILD_TRANSFER_TIMEOUT/);
        return true;
      });
    } finally {
      await stallClient.close();
    }
    const gets = fx.proxy.requests.filter((r) => layerGet(r.method, r.url));
    assert.equal(gets.length, 3, 'the first GET and two resumes');
    assert.deepEqual(
      gets.slice(1).map((g) => g.headers.range),
      [`bytes=${half}-`, `bytes=${half}-`],
    );
    assert.equal(await store.has(fx.layout.layerDigest as `sha256:${string}`), false, 'nothing stored');
  });

  test('a single stall is resumed and the blob verifies', async () => {
    const layerGet = isLayerGet(fx.layout);
    fx.proxy.setRule((req, nth) => (layerGet(req.method, req.url) && nth === 0 ? { kind: 'stall-after', bytes: 100_000 } : undefined));
    const stallClient = registryClient({ retry: FAST_RETRY, bodyTimeoutMs: STALL_MS, maxStallResumes: 1 });
    const store = fx.freshStore();
    try {
      const pulled = await pullImage(stallClient, fx.ref, store);
      const layer = pulled.manifest.layers[0]!;
      for await (const _ of store.read(layer.digest, { size: layer.size })) void _;
    } finally {
      await stallClient.close();
    }
    assert.equal(fx.proxy.requests.filter((r) => layerGet(r.method, r.url)).length, 2);
  });

  test('a server that ignores Range gets a full restart, never misaligned bytes', async () => {
    const layerGet = isLayerGet(fx.layout);
    fx.proxy.setRule((req, nth) => {
      if (!layerGet(req.method, req.url)) return undefined;
      if (nth === 0) return { kind: 'reset-after', bytes: 200_000 };
      // Strip the Range answer: pretend the registry sent 200 with the whole body.
      delete req.headers.range;
      return undefined;
    });
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    for await (const _ of store.read(pulled.manifest.layers[0]!.digest)) void _;
  });

  test('a corrupt blob is rejected naming both digests, and nothing is stored', async () => {
    const layerGet = isLayerGet(fx.layout);
    fx.proxy.setRule((req) => (layerGet(req.method, req.url) ? { kind: 'corrupt' } : undefined));
    const store = fx.freshStore();
    await assert.rejects(pullImage(fx.client, fx.ref, store), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError, String(err));
      assert.equal(err.expected, fx.layout.layerDigest);
      assert.notEqual(err.actual, fx.layout.layerDigest);
      assert.ok(err.message.includes(err.expected) && err.message.includes(err.actual), err.message);
      return true;
    });
    const blobs = await blobFiles(store);
    assert.ok(!blobs.includes(fx.layout.layerDigest));
    assert.ok(!blobs.includes(fx.layout.manifestDigest), 'the manifest must not be stored without its layers');
    assert.deepEqual(await readdir(join(store.root, '.tmp')), []);
    // corrupt data is not retried as if it were a network fault
    assert.equal(fx.proxy.requests.filter((r) => layerGet(r.method, r.url)).length, 1);
  });

  test('a manifest over 4 MiB is refused at the limit', async () => {
    const huge = Buffer.alloc((4 << 20) + 1, 0x20);
    fx.proxy.setRule((req) =>
      req.url.includes('/manifests/')
        ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' }, body: huge }
        : undefined,
    );
    await assert.rejects(getManifest(fx.client, parseReference(fx.ref)), (err: unknown) => {
      assert.ok(err instanceof TsbuildError);
      assert.equal(err.code, 'TSB_TOO_LARGE');
      assert.match(err.message, /4194304/);
      return true;
    });
  });

  test('a Docker-Content-Digest header that disagrees with the body is an error', async () => {
    const bogus = `sha256:${'0'.repeat(64)}`;
    fx.proxy.setRule((req) =>
      req.method === 'GET' && req.url.includes('/manifests/') ? { kind: 'headers', headers: { 'docker-content-digest': bogus } } : undefined,
    );
    await assert.rejects(getManifest(fx.client, parseReference(fx.ref)), DigestMismatchError);
  });

  test('schema 1 manifests are refused with a clear message', async () => {
    const schema1 = JSON.stringify({ schemaVersion: 1, name: 'library/busybox', tag: 'latest', fsLayers: [], history: [] });
    fx.proxy.setRule((req) =>
      req.url.includes('/manifests/')
        ? { kind: 'respond', status: 200, headers: { 'content-type': 'application/vnd.docker.distribution.manifest.v1+prettyjws' }, body: schema1 }
        : undefined,
    );
    await assert.rejects(getManifest(fx.client, parseReference(fx.ref)), /schema 1 manifests are not supported/);
  });

  test('a redirect to a non-http scheme is refused', async () => {
    const layerGet = isLayerGet(fx.layout);
    fx.proxy.setRule((req) => (layerGet(req.method, req.url) ? { kind: 'redirect', location: 'file:///etc/passwd' } : undefined));
    await assert.rejects(pullImage(fx.client, fx.ref, fx.freshStore()), (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.retryable, false);
      return true;
    });
  });

  test('blob upload retries: 502 on POST and 500 on the manifest PUT', async () => {
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    fx.proxy.setRule((req, nth) => {
      if (req.method === 'POST' && req.url.includes('/blobs/uploads/') && nth === 0) return { kind: 'respond', status: 502 };
      if (req.method === 'PUT' && req.url.includes('/manifests/') && nth === 0) return { kind: 'respond', status: 500 };
      return undefined;
    });
    const pushed = await pushImage(fx.client, store, pulled.manifestDescriptor, `${fx.proxy.host}/retry/target:v1`);
    assert.equal(pushed.digest, pulled.manifestDescriptor.digest);
    assert.equal(fx.proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/')).length, 2);
  });

  test('a manifest PUT that names a blob unknown (a link another pusher is rewriting) is asked again; a blob really missing still fails', async () => {
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    // What docker-registry answers when it reads a blob link another pusher is writing at that moment.
    const raced =
      '{"errors":[{"code":"DIGEST_INVALID","message":"provided digest did not match uploaded content"},{"code":"MANIFEST_BLOB_UNKNOWN","message":"blob unknown to registry"}]}';
    fx.proxy.setRule((req, nth) =>
      req.method === 'PUT' && req.url.includes('/manifests/') && nth < 2 ? { kind: 'respond', status: 400, body: raced } : undefined,
    );
    const pushed = await pushImage(fx.client, store, pulled.manifestDescriptor, `${fx.proxy.host}/retry/raced:v1`);
    assert.equal(pushed.digest, pulled.manifestDescriptor.digest);
    assert.equal(fx.proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/')).length, 3);

    fx.proxy.requests.length = 0;
    fx.proxy.setRule((req) => (req.method === 'PUT' && req.url.includes('/manifests/') ? { kind: 'respond', status: 400, body: raced } : undefined));
    await assert.rejects(pushImage(fx.client, store, pulled.manifestDescriptor, `${fx.proxy.host}/retry/missing:v1`), (err: unknown) => {
      assert.ok(err instanceof RegistryError && err.status === 400 && err.specCodes.includes('MANIFEST_BLOB_UNKNOWN'), String(err));
      return true;
    });
    assert.equal(
      fx.proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/')).length,
      4,
      'the first PUT and three more, then the error',
    );
  });

  test('a reset during a monolithic upload PUT starts a new session', async () => {
    const store = fx.freshStore();
    const pulled = await pullImage(fx.client, fx.ref, store);
    let uploadPuts = 0;
    fx.proxy.setRule((req) => (req.method === 'PUT' && req.url.includes('/blobs/uploads/') && uploadPuts++ === 0 ? { kind: 'drop' } : undefined));
    // A client that has not seen the pull: it uploads (the pulling one would mount from the source repository).
    const fresh = registryClient({ retry: FAST_RETRY });
    await pushImage(fresh, store, pulled.manifestDescriptor, `${fx.proxy.host}/retry/session:v1`).finally(() => fresh.close());
    const posts = fx.proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/'));
    assert.equal(posts.length, 3, 'two blobs, one of them needing a second session');
  });
});

describe('cross-origin blob redirects with basic auth', () => {
  let reg: RunningRegistry;
  let proxy: FaultProxy;
  let storage: Server;
  let storageHost: string;
  const storageSaw: IncomingHttpHeaders[] = [];
  let layout: BusyboxLayout;
  let work: string;

  before(async () => {
    reg = await startRegistry({ htpasswd: { user: 'u', password: 'secret-pw' } });
    layout = (await seedBusyboxImage(reg.host, { creds: 'u:secret-pw' })).layout;
    proxy = await startFaultProxy(reg.host);
    // A "storage backend" on another origin serving blobs from the seeded layout.
    storage = createServer((req, res) => {
      storageSaw.push({ ...req.headers });
      const hex = /\/blob\/sha256:([a-f0-9]{64})/.exec(req.url ?? '')?.[1];
      if (!hex) {
        res.writeHead(404).end();
        return;
      }
      readFile(join(layout.dir, 'blobs', 'sha256', hex)).then(
        (data) => res.writeHead(200, { 'content-length': String(data.length) }).end(data),
        () => res.writeHead(404).end(),
      );
    });
    await new Promise<void>((resolve) => storage.listen(0, '127.0.0.1', resolve));
    const addr = storage.address();
    storageHost = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
    work = await mkdtemp(join(tmpdir(), 'tsbuild-reg-redirect-'));
  });

  after(async () => {
    await proxy?.stop();
    await new Promise<void>((resolve) => (storage ? storage.close(() => resolve()) : resolve()));
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('the storage host gets no Authorization; the registry does; bytes still verified', async () => {
    proxy.setRule((req) =>
      req.method === 'GET' && /\/blobs\/sha256:/.test(req.url)
        ? { kind: 'redirect', location: `http://${storageHost}/blob/${req.url.split('/blobs/')[1]}?X-Amz-Signature=abc` }
        : undefined,
    );
    const client = registryClient({ credentials: staticCredentials({ username: 'u', password: 'secret-pw' }), retry: FAST_RETRY });
    try {
      const store = new LayoutStore(join(work, 'store'));
      const pulled = await pullImage(client, `${proxy.host}/library/busybox:latest`, store);
      assert.equal(pulled.manifestDescriptor.digest, layout.manifestDigest);
    } finally {
      await client.close();
    }
    assert.equal(storageSaw.length, 2, 'config and layer came from storage');
    for (const h of storageSaw) {
      assert.equal(h.authorization, undefined);
      assert.equal(h.cookie, undefined);
      assert.equal(h['proxy-authorization'], undefined);
    }
    const toRegistry = proxy.requests.filter((r) => /\/blobs\/sha256:/.test(r.url));
    assert.ok(toRegistry.length >= 2 && toRegistry.every((r) => String(r.headers.authorization).startsWith('Basic ')));
  });

  test('an endless 401 is bounded and reported as an authentication failure', async () => {
    proxy.setRule(() => ({ kind: 'respond', status: 401, headers: { 'www-authenticate': 'Basic realm="x"' }, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' }));
    proxy.requests.length = 0;
    const client = registryClient({ credentials: staticCredentials({ username: 'u', password: 'secret-pw' }), retry: FAST_RETRY });
    try {
      await assert.rejects(getManifest(client, parseReference(`${proxy.host}/library/busybox:latest`)), (err: unknown) => {
        assert.ok(err instanceof RegistryError);
        assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
        assert.match(err.message, /authentication failed/);
        return true;
      });
    } finally {
      await client.close();
    }
    assert.ok(proxy.requests.length <= 3, `sent ${proxy.requests.length} requests`);
  });
});
