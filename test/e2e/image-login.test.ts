// End to end: `tsbuild login/logout` against real docker-registry instances (htpasswd basic auth and
// token auth), and the credential chain the image and build commands share (auth file, --creds).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { startTokenAuthRegistry, type TokenAuthRegistry } from '../support/token-registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);
const USER = 'ci-bot';
const PASSWORD = 'pa:ss word';

describe('tsbuild login/logout on a registry with htpasswd auth', () => {
  let reg: RunningRegistry;
  let home: { path: string; cleanup(): Promise<void> };
  let ref: string;
  let authFile: string;
  let env: NodeJS.ProcessEnv;

  before(async () => {
    reg = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    ref = (await seedBusyboxImage(reg.host, { creds: `${USER}:${PASSWORD}`, repo: 'private/busybox', tag: 'v1' })).ref;
    home = await tempDir('login');
    authFile = join(home.path, 'auth', 'auth.json');
    // Only this file: the developer's own auth files must not leak into the test.
    env = { REGISTRY_AUTH_FILE: authFile, XDG_RUNTIME_DIR: '', DOCKER_CONFIG: join(home.path, 'docker'), HOME: home.path };
  });
  after(async () => {
    await reg?.stop();
    await home?.cleanup();
  });

  const cli = (args: string[], input?: string): ReturnType<typeof runCli> =>
    runCli(args, { home: join(home.path, 'tsbuild'), env, ...(input !== undefined ? { input } : {}) });

  test('without credentials a pull is refused with a login hint (exit 3)', async () => {
    const res = await cli(['image', 'pull', ref]);
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /authentication required by 127\.0\.0\.1:\d+/);
    assert.match(res.stderr, /hint: run `tsbuild login 127\.0\.0\.1:\d+`/);
  });

  test('a wrong password is refused and nothing is saved', async () => {
    const res = await cli(['login', reg.host, '-u', USER, '--password-stdin'], 'wrong\n');
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /authentication failed for 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(res.stderr, /wrong/);
    await assert.rejects(stat(authFile), /ENOENT/);
  });

  test('login saves the credentials (0600); pull and push then work without --creds, and skopeo reads the same file', async () => {
    const res = await cli(['login', reg.host, '-u', USER, '--password-stdin'], `${PASSWORD}\n`);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Login Succeeded/);
    assert.equal((await stat(authFile)).mode & 0o777, 0o600);
    const doc = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, { auth: string }> };
    assert.equal(Buffer.from(doc.auths[reg.host]!.auth, 'base64').toString(), `${USER}:${PASSWORD}`);

    const pull = await cli(['image', 'pull', ref]);
    assert.equal(pull.code, 0, pull.stderr);
    assert.match(pull.stdout, /^pulled 127\.0\.0\.1:\d+\/private\/busybox:v1 sha256:[a-f0-9]{64}$/m);
    const push = await cli(['image', 'push', ref, `${reg.host}/private/copy:v2`]);
    assert.equal(push.code, 0, push.stderr);
    const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', '--authfile', authFile, `docker://${reg.host}/private/copy:v2`]);
    assert.equal((JSON.parse(stdout) as { Digest: string }).Digest, pull.stdout.trim().split(' ')[2]);
  });

  test('logout removes them: the next pull is refused again; a second logout says so', async () => {
    const res = await cli(['logout', reg.host]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /Removed login credentials for 127\.0\.0\.1:\d+/);
    const doc = JSON.parse(await readFile(authFile, 'utf8')) as { auths: Record<string, unknown> };
    assert.deepEqual(doc.auths, {});
    const pull = await cli(['image', 'pull', '--quiet', ref]);
    assert.equal(pull.code, 3, pull.stderr);
    const again = await cli(['logout', reg.host]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /Not logged in to 127\.0\.0\.1:\d+/);
  });

  test('--creds USER:PASS works without a login', async () => {
    const res = await cli(['image', 'inspect', '--remote', '--creds', `${USER}:${PASSWORD}`, ref]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((JSON.parse(res.stdout) as { source: string }).source, 'remote');
  });

  test('credentials left in another auth file are named by logout', async () => {
    const other = join(home.path, 'docker', 'config.json');
    const save = await cli(['login', reg.host, '-u', USER, '--password-stdin', '--authfile', other], PASSWORD);
    assert.equal(save.code, 0, save.stderr);
    const res = await cli(['logout', reg.host]);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /still saved in .*docker\/config\.json/);
    assert.match(res.stderr, /hint: .*--authfile/);
    const cleanup = await cli(['logout', reg.host, '--authfile', other]);
    assert.equal(cleanup.code, 0, cleanup.stderr);
  });

  test('login without a password source explains how to pass one', async () => {
    const res = await cli(['login', reg.host, '-u', USER]);
    assert.equal(res.code, 2);
    assert.match(res.stderr, /needs a password/);
    assert.match(res.stderr, /--password-stdin/);
  });
});

describe('tsbuild login on a registry with token auth', () => {
  let tok: TokenAuthRegistry;
  let home: { path: string; cleanup(): Promise<void> };

  before(async () => {
    tok = await startTokenAuthRegistry({ user: USER, password: PASSWORD });
    home = await tempDir('login-token');
  });
  after(async () => {
    await tok?.stop();
    await home?.cleanup();
  });

  test('checks the password at the token realm, then push and pull use the saved credentials', async () => {
    const env = { REGISTRY_AUTH_FILE: join(home.path, 'auth.json'), XDG_RUNTIME_DIR: '', DOCKER_CONFIG: join(home.path, 'docker'), HOME: home.path };
    const host = tok.registry.host;
    const bad = await runCli(['login', host, '-u', USER, '--password-stdin'], { home: home.path, env, input: 'nope' });
    assert.equal(bad.code, 3, bad.stderr);
    assert.match(bad.stderr, /authentication failed/);
    const ok = await runCli(['login', host, '-u', USER, '--password-stdin'], { home: home.path, env, input: PASSWORD });
    assert.equal(ok.code, 0, ok.stderr);
    assert.ok(tok.tokenRequests.some((r) => r.user === USER && r.withCredentials));
    // Anonymous token callers may only pull: a push proves the saved credentials are used.
    await seedBusyboxImage(host, { creds: `${USER}:${PASSWORD}`, repo: 'team/base' });
    const pull = await runCli(['image', 'pull', `${host}/team/base:latest`], { home: home.path, env });
    assert.equal(pull.code, 0, pull.stderr);
    const push = await runCli(['image', 'push', `${host}/team/base:latest`, `${host}/team/copy:1`], { home: home.path, env });
    assert.equal(push.code, 0, push.stderr);
  });
});
