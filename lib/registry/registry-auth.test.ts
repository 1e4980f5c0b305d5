import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MockAgent } from 'undici';
import { RegistryAuth } from './registry-auth.js';
import { staticCredentials } from './credentials.js';

function authFor(baseUrl: string, agent: MockAgent): RegistryAuth {
  return new RegistryAuth({
    registry: new URL(baseUrl).host,
    baseUrl,
    credentials: staticCredentials({ username: 'u', password: 'secret' }),
    dispatcher: agent,
    userAgent: 't',
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
  });
}

test('an https registry never sends Basic credentials to a plain-http token realm', async () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Array<Record<string, string>> = [];
  agent
    .get('http://realm.example')
    .intercept({ path: (p) => p.startsWith('/token') })
    .reply(200, (opts) => {
      seen.push(opts.headers as Record<string, string>);
      return { token: 'anon-token' };
    });
  const auth = authFor('https://reg.example', agent);
  await auth.unauthorized('Bearer realm="http://realm.example/token",service="reg"', ['repository:a:pull'], 'a');
  assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer anon-token');
  assert.equal(seen.length, 1);
  assert.equal(
    Object.keys(seen[0]!).find((k) => k.toLowerCase() === 'authorization'),
    undefined,
  );
  await agent.close();
});

test('an https realm gets Basic credentials; the token is cached per scope set', async () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  const seen: Array<Record<string, string>> = [];
  agent
    .get('https://realm.example')
    .intercept({ path: (p) => p.startsWith('/token') })
    .reply(200, (opts) => {
      seen.push(opts.headers as Record<string, string>);
      return { access_token: `t${seen.length}`, expires_in: 1 };
    })
    .times(3);
  const auth = authFor('https://reg.example', agent);
  await auth.unauthorized('Bearer realm="https://realm.example/token",service="reg"', [], undefined);
  assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer t1');
  // expires_in below the 60 s minimum is raised to it, so no refresh storm
  assert.equal(await auth.authorization(['repository:a:pull'], 'a', undefined), 'Bearer t1');
  assert.equal(await auth.authorization(['repository:a:pull,push'], 'a', undefined), 'Bearer t2');
  const authz = Object.entries(seen[0]!).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
  assert.equal(authz, `Basic ${Buffer.from('u:secret').toString('base64')}`);
  await agent.close();
});

test('realms with userinfo or foreign schemes are refused', async () => {
  const agent = new MockAgent();
  agent.disableNetConnect();
  for (const realm of ['ftp://realm.example/token', 'https://x:y@realm.example/token']) {
    const auth = authFor('https://reg.example', agent);
    await auth.unauthorized(`Bearer realm="${realm}"`, [], undefined);
    await assert.rejects(auth.authorization(['repository:a:pull'], 'a', undefined), { code: 'TSB_REGISTRY_UNAUTHORIZED' });
  }
  await agent.close();
});
