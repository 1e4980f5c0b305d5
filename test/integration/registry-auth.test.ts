// Basic auth (htpasswd) against a real docker-registry, and the credential sources: explicit
// credentials, Docker config.json auths, containers auth.json and a docker-credential helper.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import {
  RegistryError,
  authFileCredentials,
  parseCredsFlag,
  pullImage,
  pushImage,
  registryClient,
  staticCredentials,
  type CredentialProvider,
} from '../../lib/registry/index.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';

const USER = 'ci-bot';
const PASSWORD = 'p4ss:with:colons';

describe('registry with htpasswd basic auth', () => {
  let reg: RunningRegistry;
  let work: string;
  let ref: string;

  before(async () => {
    reg = await startRegistry({ htpasswd: { user: USER, password: PASSWORD } });
    ref = (await seedBusyboxImage(reg.host, { creds: `${USER}:${PASSWORD}`, repo: 'private/busybox', tag: 'v1' })).ref;
    work = await mkdtemp(join(tmpdir(), 'tsbuild-reg-auth-'));
  });

  after(async () => {
    await reg?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  async function pullWith(credentials: CredentialProvider | undefined, dir: string): Promise<void> {
    const client = registryClient(credentials ? { credentials } : {});
    try {
      await pullImage(client, ref, new LayoutStore(join(work, dir)));
    } finally {
      await client.close();
    }
  }

  test('anonymous pull is refused with a login hint', async () => {
    await assert.rejects(pullWith(undefined, 'anon'), (err: unknown) => {
      assert.ok(err instanceof RegistryError, String(err));
      assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
      assert.equal(err.status, 401);
      assert.match(err.hint ?? '', /tsbuild login/);
      return true;
    });
  });

  test('a wrong password fails as unauthorized and is not echoed in the error', async () => {
    await assert.rejects(pullWith(staticCredentials({ username: USER, password: 'nope' }), 'wrong'), (err: unknown) => {
      assert.ok(err instanceof RegistryError);
      assert.equal(err.code, 'TSB_REGISTRY_UNAUTHORIZED');
      assert.doesNotMatch(err.message, /nope/);
      return true;
    });
  });

  test('explicit --creds USER:PASS pulls and pushes', async () => {
    const client = registryClient({ credentials: staticCredentials(parseCredsFlag(`${USER}:${PASSWORD}`), [reg.host]) });
    try {
      const store = new LayoutStore(join(work, 'explicit'));
      const pulled = await pullImage(client, ref, store);
      const pushed = await pushImage(client, store, pulled.manifestDescriptor, `${reg.host}/private/copy:v2`);
      assert.equal(pushed.digest, pulled.manifestDescriptor.digest);
    } finally {
      await client.close();
    }
  });

  test('credentials come from $DOCKER_CONFIG/config.json auths (base64 auth)', async () => {
    const dockerConfig = join(work, 'docker-config');
    await mkdir(dockerConfig, { recursive: true });
    const auth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ auths: { [`http://${reg.host}`]: { auth } } }));
    await pullWith(authFileCredentials({ env: { DOCKER_CONFIG: dockerConfig }, home: join(work, 'no-home') }), 'docker-config');
  });

  test('credentials come from $REGISTRY_AUTH_FILE (username/password, repository-scoped key)', async () => {
    const file = join(work, 'auth.json');
    await writeFile(
      file,
      JSON.stringify({
        auths: {
          [reg.host]: { username: USER, password: 'wrong-for-other-repos' },
          [`${reg.host}/private/busybox`]: { username: USER, password: PASSWORD },
        },
      }),
    );
    await pullWith(authFileCredentials({ env: { REGISTRY_AUTH_FILE: file }, home: join(work, 'no-home') }), 'auth-file');
  });

  test('credentials come from a docker-credential helper named in credHelpers', async () => {
    const bin = join(work, 'bin');
    await mkdir(bin, { recursive: true });
    const helper = join(bin, 'docker-credential-tsbtest');
    // The helper protocol: server URL on stdin, JSON on stdout.
    await writeFile(
      helper,
      `#!/bin/sh\nread server\n[ "$1" = get ] || exit 1\n[ "$server" = "${reg.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\n` +
        `printf '{"ServerURL":"%s","Username":"${USER}","Secret":"${PASSWORD}"}' "$server"\n`,
    );
    await chmod(helper, 0o755);
    const dockerConfig = join(work, 'docker-config-helper');
    await mkdir(dockerConfig, { recursive: true });
    await writeFile(join(dockerConfig, 'config.json'), JSON.stringify({ credHelpers: { [reg.host]: 'tsbtest' } }));
    const oldPath = process.env.PATH;
    process.env.PATH = `${bin}:${oldPath ?? ''}`;
    try {
      await pullWith(authFileCredentials({ env: { DOCKER_CONFIG: dockerConfig }, home: join(work, 'no-home') }), 'helper');
    } finally {
      process.env.PATH = oldPath;
    }
  });
});
