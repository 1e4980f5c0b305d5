// A registry that lies about what it has (reliability catalog B10, B14, B15), scripted by the fault
// proxy in front of a real docker-registry: resumes answered from the wrong offset, a HEAD that
// reports another size, an upload stored under another digest, chunk uploads answered 416 or
// with a Range that never advances, and layer descriptors carrying foreign `urls`.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DigestMismatchError, TsbuildError } from '../../lib/errors.js';
import type { LayoutStore } from '../../lib/content/index.js';
import type { Descriptor } from '../../lib/oci/index.js';
import { RegistryError, pullImage, pushImage, registryClient, type RegistryClient } from '../../lib/registry/index.js';
import { sha256 } from '../../lib/digest.js';
import { listRegistryStages } from '../../lib/storage/index.js';
import { proxiedRegistry } from '../support/proxied-registry.js';
import { checkStore } from '../support/store-check.js';

const FAST_RETRY = { attempts: 3, baseDelayMs: 10, maxDelayMs: 50 };
const CHUNK = 256 << 10;

describe('registries that lie about what they hold', () => {
  const fx = proxiedRegistry({ prefix: 'tsbuild-reg-lies-', client: () => registryClient({ retry: FAST_RETRY }) });
  let source: LayoutStore;
  let pulled: Descriptor;
  const isLayerGet = (method: string, url: string): boolean => method === 'GET' && url.includes(`/blobs/${fx.layout.layerDigest}`);
  /** A client that has seen no pull, so it uploads instead of mounting. */
  const uploader = (): RegistryClient => registryClient({ retry: FAST_RETRY });
  const chunked = { monolithicMaxBytes: 0, chunkBytes: CHUNK };

  before(async () => {
    source = fx.freshStore();
    pulled = (await pullImage(fx.client, fx.ref, source)).manifestDescriptor;
  });

  test('a resume answered 206 from the wrong offset, or with an open-ended range, restarts from byte 0', async () => {
    for (const contentRange of ['bytes 0-99/', 'bytes 0-99/*']) {
      fx.proxy.requests.length = 0;
      fx.proxy.setRule((req, nth) => {
        if (!isLayerGet(req.method, req.url)) return undefined;
        if (nth === 0) return { kind: 'reset-after', bytes: 200_000 };
        if (nth > 1) return undefined;
        return {
          kind: 'raw',
          write: (sock, up) => {
            const range = contentRange.endsWith('/') ? `${contentRange}${up.body.length}` : contentRange;
            sock.end(`HTTP/1.1 206 Partial Content\r\nContent-Range: ${range}\r\nContent-Length: 100\r\nConnection: close\r\n\r\n${'x'.repeat(100)}`);
          },
        };
      });
      const store = fx.freshStore();
      await pullImage(fx.client, fx.ref, store);
      const gets = fx.proxy.requests.filter((r) => isLayerGet(r.method, r.url));
      assert.equal(gets.length, 3);
      assert.match(String(gets[1]!.headers.range), /^bytes=\d+-$/);
      assert.equal(gets[2]!.headers.range, undefined, 'the third GET starts over');
      assert.deepEqual(await checkStore(store.root), []);
    }
  });

  test('a HEAD that reports another size counts as absent: the blob is uploaded', async () => {
    fx.proxy.setRule((req) =>
      req.method === 'HEAD' && req.url.includes('/blobs/') ? { kind: 'respond', status: 200, headers: { 'content-length': '1' } } : undefined,
    );
    const up = uploader();
    try {
      await pushImage(up, source, pulled, `${fx.proxy.host}/lies/head:v1`);
    } finally {
      await up.close();
    }
    assert.equal(fx.proxy.requests.filter((r) => r.method === 'POST' && r.url.includes('/blobs/uploads/')).length, 2);
  });

  test('an upload the registry says it stored under another digest fails, naming both', async () => {
    const bogus = `sha256:${'e'.repeat(64)}`;
    fx.proxy.setRule((req) =>
      req.method === 'PUT' && req.url.includes('/blobs/uploads/') ? { kind: 'headers', headers: { 'docker-content-digest': bogus } } : undefined,
    );
    const up = uploader();
    try {
      await assert.rejects(pushImage(up, source, pulled, `${fx.proxy.host}/lies/digest:v1`), (err: unknown) => {
        assert.ok(err instanceof TsbuildError, String(err));
        assert.equal(err.code, 'TSB_DIGEST_MISMATCH');
        assert.ok(err.message.includes(bogus), err.message);
        return true;
      });
    } finally {
      await up.close();
    }
    assert.equal(fx.proxy.requests.filter((r) => r.method === 'PUT' && r.url.includes('/manifests/')).length, 0, 'no manifest over a doubtful blob');
  });

  test('a chunk answered 416 with the Range the registry holds is sent again from there', async () => {
    fx.proxy.setRule((req, nth) =>
      req.method === 'PATCH' && nth === 1
        ? { kind: 'respond', status: 416, headers: { range: `0-${CHUNK - 1}`, location: req.url, 'docker-upload-uuid': 'x' } }
        : undefined,
    );
    const up = uploader();
    try {
      const pushed = await pushImage(up, source, pulled, `${fx.proxy.host}/lies/resume:v1`, chunked);
      assert.equal(pushed.digest, fx.layout.manifestDigest);
    } finally {
      await up.close();
    }
    const patches = fx.proxy.requests.filter((r) => r.method === 'PATCH');
    const ranges = patches.map((p) => p.headers['content-range']);
    assert.equal(ranges.filter((r) => r === `${CHUNK}-${2 * CHUNK - 1}`).length, 2, `the second chunk twice: ${ranges.join(' ')}`);
  });

  test('chunk answers whose Range never advances end in an error, not an endless upload', { timeout: 600_000 }, async () => {
    for (const status of [416, 202]) {
      fx.proxy.requests.length = 0;
      fx.proxy.setRule((req) =>
        req.method === 'PATCH' ? { kind: 'respond', status, headers: { range: '0-0', location: req.url, 'docker-upload-uuid': 'x' } } : undefined,
      );
      const up = uploader();
      try {
        await assert.rejects(pushImage(up, source, pulled, `${fx.proxy.host}/lies/stuck:v1`, chunked), (err: unknown) => {
          assert.ok(err instanceof RegistryError, String(err));
          assert.match(err.message, /no progress|Range/);
          return true;
        });
      } finally {
        await up.close();
      }
      const patches = fx.proxy.requests.filter((r) => r.method === 'PATCH').length;
      assert.ok(patches <= 3 * FAST_RETRY.attempts * 2, `${patches} PATCH requests for HTTP ${status}`);
    }
  });

  test('a tag list whose Link leads back to a page already read, or whose "tags" is not a list, ends in an error', { timeout: 600_000 }, async () => {
    const loops = (req: { method: string; url: string }) =>
      req.method === 'GET' && req.url.includes('/tags/list')
        ? ({ kind: 'respond', status: 200, headers: { link: '</v2/stages/loop/tags/list?n=1000&last=a>; rel="next"' }, body: '{"tags":["a"]}' } as const)
        : undefined;
    fx.proxy.setRule(loops);
    fx.proxy.requests.length = 0;
    const repo = { registry: fx.proxy.host, repository: 'stages/loop' };
    await assert.rejects(listRegistryStages(fx.client, repo), (err: unknown) => {
      assert.ok(err instanceof TsbuildError, String(err));
      assert.equal(err.code, 'TSB_REGISTRY_UNSUPPORTED');
      assert.match(err.message, /leads back to a page already read/);
      return true;
    });
    assert.equal(fx.proxy.requests.length, 2, 'the first page and the one its Link names, then the loop is seen');

    fx.proxy.setRule((req) => (req.method === 'GET' && req.url.includes('/tags/list') ? { kind: 'respond', status: 200, body: '{"tags":5}' } : undefined));
    await assert.rejects(listRegistryStages(fx.client, repo), { code: 'TSB_REGISTRY_UNSUPPORTED', message: /"tags" is not a list/ });
  });

  test('a manifest asked for by digest that hashes elsewhere is refused naming both; nothing is stored', async () => {
    fx.proxy.setRule((req) =>
      req.method === 'GET' && req.url.endsWith(`/manifests/${pulled.digest}`)
        ? {
            kind: 'raw',
            write: (sock, up) => {
              const body = Buffer.from(`${up.body.toString()} `);
              sock.end(`HTTP/1.1 200 OK\r\nContent-Type: ${up.headers['content-type']}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`);
            },
          }
        : undefined,
    );
    fx.proxy.requests.length = 0;
    const store = fx.freshStore();
    await assert.rejects(pullImage(fx.client, `${fx.proxy.host}/library/busybox@${pulled.digest}`, store), (err: unknown) => {
      assert.ok(err instanceof DigestMismatchError, String(err));
      assert.equal(err.expected, pulled.digest);
      assert.ok(err.message.includes(err.actual), err.message);
      return true;
    });
    assert.deepEqual(
      fx.proxy.requests.filter((r) => r.url.includes('/blobs/')),
      [],
      'no blob of an unverified manifest is fetched',
    );
    assert.deepEqual(await checkStore(store.root), []);
  });

  test('an index whose entry turns out to be another index is refused after two manifest requests', async () => {
    const inner = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: pulled.mediaType, digest: pulled.digest, size: pulled.size, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    const innerDigest = sha256(inner);
    // The outer index says its entry is an image manifest; the bytes behind it are an index.
    const outer = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests: [{ mediaType: pulled.mediaType, digest: innerDigest, size: inner.length, platform: { os: 'linux', architecture: 'amd64' } }],
      }),
    );
    const index = 'application/vnd.oci.image.index.v1+json';
    fx.proxy.setRule((req) => {
      if (req.method !== 'GET') return undefined;
      if (req.url.endsWith('/manifests/nested')) return { kind: 'respond', status: 200, headers: { 'content-type': index }, body: outer };
      if (req.url.endsWith(`/manifests/${innerDigest}`)) return { kind: 'respond', status: 200, headers: { 'content-type': index }, body: inner };
      return undefined;
    });
    fx.proxy.requests.length = 0;
    await assert.rejects(
      pullImage(fx.client, `${fx.proxy.host}/library/busybox:nested`, fx.freshStore(), { platform: { os: 'linux', architecture: 'amd64' } }),
      {
        code: 'TSB_REGISTRY_UNSUPPORTED',
        message: /is itself an index; nested indexes are not supported/,
      },
    );
    assert.equal(fx.proxy.requests.filter((r) => r.url.includes('/manifests/')).length, 2);
  });

  test('foreign `urls` on a layer descriptor are never fetched: the layer comes from the registry and verifies', async () => {
    const saw: string[] = [];
    const urlsHost: Server = createServer((req, res) => {
      saw.push(req.url ?? '');
      res.writeHead(200).end('stolen');
    });
    await new Promise<void>((resolve) => urlsHost.listen(0, '127.0.0.1', resolve));
    const foreign = `http://127.0.0.1:${(urlsHost.address() as AddressInfo).port}/steal`;
    try {
      const manifest = JSON.parse((await source.readBytes(pulled.digest, 1 << 20)).toString()) as {
        mediaType?: string;
        layers: Array<Record<string, unknown>>;
      };
      for (const l of manifest.layers) l.urls = [foreign];
      const bytes = Buffer.from(JSON.stringify(manifest));
      fx.proxy.setRule((req) =>
        req.method === 'GET' && req.url.endsWith('/manifests/urls')
          ? { kind: 'respond', status: 200, headers: { 'content-type': manifest.mediaType ?? pulled.mediaType }, body: bytes }
          : undefined,
      );
      const store = fx.freshStore();
      const got = await pullImage(fx.client, `${fx.proxy.host}/library/busybox:urls`, store);
      assert.equal(got.manifestDescriptor.digest, sha256(bytes));
      assert.deepEqual(saw, []);
      assert.deepEqual(await checkStore(store.root), []);
    } finally {
      await new Promise<void>((resolve) => urlsHost.close(() => resolve()));
    }
  });
});
