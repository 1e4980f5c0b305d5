import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authFileCredentials, authFilePaths, chainCredentials, normalizeAuthKey, parseCredsFlag, staticCredentials } from './credentials.js';

test('auth keys normalise Docker Hub URLs and schemes', () => {
  assert.equal(normalizeAuthKey('https://index.docker.io/v1/'), 'docker.io');
  assert.equal(normalizeAuthKey('http://127.0.0.1:5000'), '127.0.0.1:5000');
  assert.equal(normalizeAuthKey('quay.io/team/app'), 'quay.io/team/app');
});

test('--creds splits at the first colon', () => {
  assert.deepEqual(parseCredsFlag('me:a:b'), { username: 'me', password: 'a:b' });
  assert.throws(() => parseCredsFlag('nopassword'), { code: 'TSB_USAGE' });
});

test('auth files are consulted in containers-then-docker order', () => {
  assert.deepEqual(authFilePaths({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/u', DOCKER_CONFIG: '/dc' }, '/home/x'), [
    '/a.json',
    '/run/u/containers/auth.json',
    '/dc/config.json',
    '/home/x/.docker/config.json',
  ]);
});

test('config.json: Hub legacy key, identity tokens, credsStore fallback', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-creds-'));
  try {
    await writeFile(
      join(dir, 'config.json'),
      JSON.stringify({
        auths: {
          'https://index.docker.io/v1/': { auth: Buffer.from('hub:pw').toString('base64') },
          'ghcr.io': { identitytoken: 'refresh-me' },
        },
        credsStore: 'fake',
      }),
    );
    const asked: string[] = [];
    const provider = authFileCredentials({
      env: { DOCKER_CONFIG: dir },
      home: join(dir, 'none'),
      runHelper: async (name, registry) => {
        asked.push(`${name}:${registry}`);
        return registry === 'quay.io' ? { username: 'q', password: 'qq' } : undefined;
      },
    });
    assert.deepEqual(await provider.get('docker.io'), { username: 'hub', password: 'pw' });
    assert.deepEqual(await provider.get('ghcr.io'), { identityToken: 'refresh-me' });
    assert.deepEqual(await provider.get('quay.io'), { username: 'q', password: 'qq' });
    assert.equal(await provider.get('other.example'), undefined);
    assert.deepEqual(asked, ['fake:quay.io', 'fake:other.example']);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('explicit credentials win over files in a chain, limited to their registries', async () => {
  const chain = chainCredentials(staticCredentials({ username: 'a', password: 'b' }, ['r1']), staticCredentials({ username: 'c', password: 'd' }));
  assert.deepEqual(await chain.get('r1'), { username: 'a', password: 'b' });
  assert.deepEqual(await chain.get('r2'), { username: 'c', password: 'd' });
});
