// Bearer token auth against docker-registry configured with `auth: token` and a small JWT issuer:
// anonymous pull tokens, credentialed push tokens, mount scopes, and token caching per scope.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { RegistryError, pullImage, pushImage, registryClient, staticCredentials, type TransferProgress } from '../../lib/registry/index.js';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-registry.js';
import { seedBusyboxImage } from '../support/base-image.js';

describe('registry with bearer token auth', () => {
  let env: TokenAuthRegistry;
  let host: string;
  let ref: string;
  let work: string;

  before(async () => {
    env = await startTokenAuthRegistry({ user: 'alice', password: 'wonderland' });
    host = env.registry.host;
    ref = (await seedBusyboxImage(host, { creds: 'alice:wonderland' })).ref;
    work = await mkdtemp(join(tmpdir(), 'tsbuild-reg-token-'));
  });

  after(async () => {
    await env?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('anonymous pull gets a pull token from the realm without credentials', async () => {
    env.tokenRequests.length = 0;
    const client = registryClient();
    try {
      await pullImage(client, ref, new LayoutStore(join(work, 'anon')));
    } finally {
      await client.close();
    }
    assert.ok(env.tokenRequests.length >= 1);
    for (const r of env.tokenRequests) {
      assert.equal(r.withCredentials, false);
      assert.equal(r.service, 'tsbuild-test-registry');
      assert.deepEqual(r.scopes, ['repository:library/busybox:pull']);
    }
    // one token serves every request of the pull (cached per scope)
    assert.equal(env.tokenRequests.length, 1);
  });

  test('anonymous push is refused as unauthorized', async () => {
    const client = registryClient();
    try {
      const store = new LayoutStore(join(work, 'anon-push'));
      const pulled = await pullImage(client, ref, store);
      await assert.rejects(pushImage(client, store, pulled.manifestDescriptor, `${host}/team/nope:v1`), (err: unknown) => {
        assert.ok(err instanceof RegistryError, String(err));
        assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
        return true;
      });
    } finally {
      await client.close();
    }
  });

  test('with credentials: push tokens, cross-repo mount scope, tokens cached per scope set', async () => {
    const client = registryClient({ credentials: staticCredentials({ username: 'alice', password: 'wonderland' }) });
    try {
      const store = new LayoutStore(join(work, 'creds'));
      const pulled = await pullImage(client, ref, store);
      env.tokenRequests.length = 0;
      const events: TransferProgress[] = [];
      const pushed = await pushImage(client, store, pulled.manifestDescriptor, `${host}/team/app:v1`, {
        mountFrom: 'library/busybox',
        onProgress: (p) => events.push(p),
      });
      assert.equal(pushed.digest, pulled.manifestDescriptor.digest);
      assert.equal(events.filter((e) => e.phase === 'mounted').length, 2, JSON.stringify(events));
      assert.ok(env.tokenRequests.every((r) => r.withCredentials && r.user === 'alice'));
      const scopeSets = env.tokenRequests.map((r) => [...r.scopes].sort().join(' '));
      assert.ok(scopeSets.includes('repository:team/app:pull'), scopeSets.join(' | '));
      assert.ok(scopeSets.includes('repository:team/app:pull,push'), scopeSets.join(' | '));
      assert.ok(scopeSets.includes('repository:library/busybox:pull repository:team/app:pull,push'), scopeSets.join(' | '));
      assert.equal(new Set(scopeSets).size, scopeSets.length, `a scope set was fetched twice: ${scopeSets.join(' | ')}`);
    } finally {
      await client.close();
    }
  });

  test('wrong credentials fail as an authentication error naming the registry', async () => {
    const client = registryClient({ credentials: staticCredentials({ username: 'alice', password: 'nope' }) });
    try {
      await assert.rejects(pullImage(client, ref, new LayoutStore(join(work, 'bad'))), (err: unknown) => {
        assert.ok(err instanceof RegistryError, String(err));
        assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
        assert.match(err.message, new RegExp(`authentication failed for ${host.replace(/\./g, '\\.')}`));
        return true;
      });
    } finally {
      await client.close();
    }
  });
});
