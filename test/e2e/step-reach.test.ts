// What a step can reach (reliability catalog C6, and C's "the builder's store"): with `network: none`
// a step has only its own loopback device and cannot connect to a service on the host's 127.0.0.1;
// with the default (the host's network, as `docker build`) the same connection arrives — the
// control that keeps the first assertion from passing for another reason. In neither case does the
// builder's home (its store) exist inside the step. Real bwrap and runc, checked with umoci.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { finalRefName } from '../../lib/storage/index.js';
import { runCli, tempDirs } from '../support/cli.js';
import { busyboxTree, homeWithLocalBase, storeLocalImage } from '../support/local-image.js';

const exec = promisify(execFile);

describe('what a step can reach', () => {
  const dirs = tempDirs();
  let server: Server;
  let port = 0;
  const received: string[] = [];

  before(async () => {
    server = createServer((socket) => {
      let text = '';
      socket.on('data', (c: Buffer) => {
        text += c.toString();
        if (text.includes('\n')) socket.end();
      });
      socket.on('close', () => received.push(text.trim()));
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    await dirs.cleanup();
  });

  // Catalog C5: Env entries of a base image that are not NAME=value.
  test('Env entries of the base image without a name or "=", or with a NUL, are dropped: never filled from the builder', async () => {
    const home = await homeWithLocalBase('reach-env');
    const tree = await busyboxTree();
    try {
      const env = ['PATH=/bin', 'HOME', 'AWS_*', 'REACH_SECRET', '=x', 'A=B=C', 'NUL\u0000BYTE=1', 'V=nul\u0000value'];
      await storeLocalImage(join(home.path, 'store'), 'local.test/env:1', tree.dir, { Env: env });
      const project = await dirs.make('reach-env-project');
      await writeFile(
        join(project, 'werf.yaml'),
        'project: reach\nconfigVersion: 1\n---\nimage: env\nfrom: local.test/env:1\nshell:\n  install:\n  - env | sort > /env.txt\n',
      );
      const res = await runCli(['build', '--dir', project, '--pull', 'never'], {
        home: home.path,
        env: { ...process.env, REACH_SECRET: 'host-only', AWS_KEY: 'host-only' },
      });
      assert.equal(res.code, 0, res.stderr);
      // (umoci refuses this image's config as it is: the Env entries are the base image's own.)
      const run = await runCli(['run', '--dir', project, 'env', '--', 'cat', '/env.txt'], { home: home.path });
      assert.equal(run.code, 0, run.stderr);
      const seen = run.stdout.split('\n').filter((l) => /^[A-Z]/.test(l) && !/^(PWD|SHLVL|_)=/.test(l));
      assert.deepEqual(seen, ['A=B=C', 'HOME=/root', 'PATH=/bin']);
    } finally {
      await tree.cleanup();
      await home.cleanup();
    }
  });

  for (const sandbox of ['bwrap', 'runc']) {
    test(`${sandbox}: network none reaches nothing on the host, the default reaches 127.0.0.1; the store is not there`, async () => {
      const home = await homeWithLocalBase('reach');
      try {
        const project = await dirs.make('reach-project');
        // nc's -w is a hang guard: without network the connect fails at once, with it the service
        // answers at once; only a test process that does not run for a minute reaches 60 s.
        const probe = (tag: string): string[] => [
          `(echo ${tag}-${sandbox} | nc -w 60 127.0.0.1 ${port}) && echo connected > /net || echo unreachable > /net`,
          'cut -d: -f1 /proc/net/dev | tail -n +3 | tr -d " " > /ifaces',
          `ls ${home.path}/store > /store 2>&1 && echo present >> /store || echo absent > /store`,
        ];
        const image = (name: string, extra: string, cmds: string[]): string =>
          `image: ${name}\nfrom: local.test/base:1\n${extra}shell:\n  install:\n${cmds.map((c) => `    - ${JSON.stringify(c)}`).join('\n')}\n`;
        await writeFile(
          join(project, 'werf.yaml'),
          `project: reach\nconfigVersion: 1\n---\n${image('off', 'network: none\n', probe('off'))}---\n${image('on', '', probe('on'))}`,
        );
        const res = await runCli(['build', '--dir', project, '--pull', 'never', '--sandbox', sandbox], { home: home.path });
        assert.equal(res.code, 0, res.stderr);
        const seen = async (name: string): Promise<Record<string, string>> => {
          const bundle = await dirs.make(`reach-${name}`);
          await exec('umoci', ['unpack', '--image', `${join(home.path, 'store')}:${finalRefName('reach', name)}`, join(bundle, 'b')]);
          const out: Record<string, string> = {};
          for (const f of ['net', 'ifaces', 'store']) out[f] = (await readFile(join(bundle, 'b', 'rootfs', f), 'utf8')).trim();
          return out;
        };
        const off = await seen('off');
        assert.deepEqual(off, { net: 'unreachable', ifaces: 'lo', store: 'absent' });
        const on = await seen('on');
        assert.equal(on.net, 'connected');
        assert.equal(on.store, 'absent');
        assert.ok(received.includes(`on-${sandbox}`), `the host service got: ${JSON.stringify(received)}`);
        assert.ok(!received.includes(`off-${sandbox}`), `a step without network reached the host: ${JSON.stringify(received)}`);
      } finally {
        await home.cleanup();
      }
    });
  }
});
