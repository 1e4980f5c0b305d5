// loginRegistry / logoutRegistry against real docker-registry instances (htpasswd, and one without
// auth): what reaches the auth file, and what a logout reports.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';
import { startRegistry, type RunningRegistry } from '../../test/support/registry.js';
import { loginRegistry, logoutRegistry } from './login-registry.js';

const USER = 'ci-bot';
const PASSWORD = 's3cret-pass';

describe('loginRegistry / logoutRegistry', () => {
  let reg: RunningRegistry;
  let open: RunningRegistry;
  let dir: string;
  let chainFile: string;
  const saved: Record<string, string | undefined> = {};

  before(async () => {
    [reg, open] = await Promise.all([startRegistry({ htpasswd: { user: USER, password: PASSWORD } }), startRegistry()]);
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-login-'));
    chainFile = join(dir, 'chain', 'auth.json');
    // Only files of this test are in the credential chain (this process is the test file's own).
    for (const [k, v] of Object.entries({ REGISTRY_AUTH_FILE: chainFile, XDG_RUNTIME_DIR: '', DOCKER_CONFIG: join(dir, 'docker'), HOME: dir })) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  after(async () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await Promise.all([reg?.stop(), open?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const auths = async (file: string): Promise<Record<string, unknown>> =>
    (JSON.parse(await readFile(file, 'utf8')) as { auths: Record<string, unknown> }).auths;

  test('wrong credentials are refused by the registry and never reach the auth file', async () => {
    await assert.rejects(
      loginRegistry({ registry: reg.host, username: USER, password: 'wrong', insecureRegistries: [reg.host] }),
      (err: unknown) => err instanceof TsbuildError && err.code === 'TSB_REGISTRY_UNAUTHORIZED',
    );
    await assert.rejects(stat(chainFile), { code: 'ENOENT' });
  });

  test('checked credentials are saved (0600) in the file the chain reads first; a registry without auth saves them as unverified', async () => {
    const res = await loginRegistry({ registry: `http://${reg.host}/`, username: USER, password: PASSWORD, insecureRegistries: [reg.host] });
    assert.deepEqual(res, { key: reg.host, host: reg.host, path: chainFile, mode: 'authenticated', shadowedByHelper: undefined });
    assert.deepEqual(await auths(chainFile), { [reg.host]: { auth: Buffer.from(`${USER}:${PASSWORD}`).toString('base64') } });
    assert.equal((await stat(chainFile)).mode & 0o777, 0o600);

    const anon = await loginRegistry({ registry: open.host, username: USER, password: PASSWORD, insecureRegistries: [open.host] });
    assert.equal(anon.mode, 'anonymous');
    assert.deepEqual(Object.keys(await auths(chainFile)).sort(), [reg.host, open.host].sort());
  });

  test('logout removes from one file and names the other files of the chain that still hold the registry', async () => {
    const other = join(dir, 'other.json');
    await loginRegistry({ registry: reg.host, username: USER, password: PASSWORD, insecureRegistries: [reg.host], authFile: other });
    const first = await logoutRegistry({ registry: reg.host, authFile: other });
    assert.deepEqual(first, { key: reg.host, path: other, removed: true, stillSavedIn: [chainFile] });
    const second = await logoutRegistry({ registry: reg.host });
    assert.deepEqual(second, { key: reg.host, path: chainFile, removed: true, stillSavedIn: [] });
    const third = await logoutRegistry({ registry: reg.host });
    assert.equal(third.removed, false);
    assert.deepEqual(Object.keys(await auths(chainFile)), [open.host]);
  });
});
