import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authFileCredentials } from './credentials.js';
import { authFilesWithEntry, loginAuthFile, loginKey, removeAuthFileCredential, saveAuthFileCredential } from './auth-file-store.js';

describe('auth file written by tsbuild login', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-authfile-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('the file is the first one the credential chain reads', () => {
    const home = '/home/u';
    assert.equal(loginAuthFile({ REGISTRY_AUTH_FILE: '/a.json', XDG_RUNTIME_DIR: '/run/user/1' }, home), '/a.json');
    assert.equal(loginAuthFile({ XDG_RUNTIME_DIR: '/run/user/1', DOCKER_CONFIG: '/d' }, home), '/run/user/1/containers/auth.json');
    assert.equal(loginAuthFile({ DOCKER_CONFIG: '/d' }, home), '/d/config.json');
    assert.equal(loginAuthFile({}, home), '/home/u/.docker/config.json');
  });

  test('registry names are normalised like the auth file keys', () => {
    assert.equal(loginKey('https://127.0.0.1:5000/'), '127.0.0.1:5000');
    assert.equal(loginKey('index.docker.io'), 'docker.io');
    assert.equal(loginKey('registry.example.com/team'), 'registry.example.com/team');
    assert.throws(() => loginKey(' '), /not a registry name/);
  });

  test('save writes mode 0600, keeps other keys and entries, and replaces aliases of the same registry', async () => {
    const path = join(dir, 'sub', 'auth.json');
    await mkdir(join(dir, 'sub'));
    await writeFile(
      path,
      JSON.stringify({
        auths: { 'other.io': { auth: 'eDp5' }, 'https://127.0.0.1:5000/v2/': { auth: 'b2xkOm9sZA==' } },
        credHelpers: { 'gcr.io': 'gcloud' },
        psFormat: 'x',
      }),
      { mode: 0o644 },
    );
    const res = await saveAuthFileCredential(path, '127.0.0.1:5000', 'bot', 'p:w');
    assert.equal(res.shadowedByHelper, undefined);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const doc = JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, { auth: string }>; credHelpers: unknown; psFormat: string };
    assert.deepEqual(Object.keys(doc.auths).sort(), ['127.0.0.1:5000', 'other.io']);
    assert.equal(Buffer.from(doc.auths['127.0.0.1:5000']!.auth, 'base64').toString(), 'bot:p:w');
    assert.deepEqual(doc.credHelpers, { 'gcr.io': 'gcloud' });
    assert.equal(doc.psFormat, 'x');
    const cred = await authFileCredentials({ env: { REGISTRY_AUTH_FILE: path }, home: dir }).get('127.0.0.1:5000');
    assert.deepEqual(cred, { username: 'bot', password: 'p:w' });
  });

  test('Docker Hub credentials in a Docker config.json use the key the docker CLI looks up', async () => {
    const path = join(dir, 'docker', 'config.json');
    await saveAuthFileCredential(path, 'docker.io', 'me', 'tok');
    const doc = JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.auths), ['https://index.docker.io/v1/']);
    assert.deepEqual(await authFileCredentials({ env: { DOCKER_CONFIG: join(dir, 'docker') }, home: dir }).get('docker.io'), {
      username: 'me',
      password: 'tok',
    });
  });

  test('a credential helper for the registry in the same file is reported as taking precedence', async () => {
    const path = join(dir, 'helper.json');
    await writeFile(path, JSON.stringify({ credHelpers: { 'reg.example.com': 'pass' } }));
    const res = await saveAuthFileCredential(path, 'reg.example.com', 'a', 'b');
    assert.equal(res.shadowedByHelper, 'pass');
  });

  test('remove deletes only that registry, and reports whether anything was there', async () => {
    const path = join(dir, 'rm.json');
    await saveAuthFileCredential(path, 'a.example.com', 'u', 'p');
    await saveAuthFileCredential(path, 'b.example.com', 'u', 'p');
    assert.deepEqual(await authFilesWithEntry('a.example.com', { REGISTRY_AUTH_FILE: path }, dir), [path]);
    assert.equal(await removeAuthFileCredential(path, 'https://a.example.com'), true);
    assert.equal(await removeAuthFileCredential(path, 'a.example.com'), false);
    assert.equal(await removeAuthFileCredential(join(dir, 'missing.json'), 'a.example.com'), false);
    const doc = JSON.parse(await readFile(path, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(Object.keys(doc.auths), ['b.example.com']);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
  });

  test('an auth file that is not JSON is reported with a hint, not overwritten', async () => {
    const path = join(dir, 'bad.json');
    await writeFile(path, '{not json');
    await assert.rejects(saveAuthFileCredential(path, 'x.io', 'u', 'p'), (err: Error & { hint?: string }) => {
      assert.match(err.message, /bad\.json is not a valid auth file/);
      assert.match(err.hint ?? '', /fix or remove/);
      return true;
    });
    assert.equal(await readFile(path, 'utf8'), '{not json');
  });
});
