// `tsbuild run` with `docker run`'s rules, through the CLI on a real sandbox: ARGS replace CMD,
// --entrypoint replaces ENTRYPOINT and drops CMD, -e (KEY=VALUE and KEY from the caller's
// environment), -w, -u (names and numbers through the image's passwd/group), options after IMAGE
// belong to the command, stdin is passed through, 127/126 with the exec error, nothing kept.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { homeWithLocalBase } from '../support/local-image.js';

const YAML = `project: runs
configVersion: 1
---
image: app
from: local.test/base:1
shell:
  install:
  - mkdir -p /app /home/user && chown 1000:1000 /home/user
  - echo 'staff:x:50:user' >> /etc/group
  - printf '#!/bin/sh\\necho "entry:$*"\\n' > /app/entry.sh && chmod 755 /app/entry.sh
  - printf 'echo not executable\\n' > /app/plain.sh && chmod 644 /app/plain.sh
  - printf '#!/bin/bash\\necho needs bash\\n' > /app/bash.sh && chmod 755 /app/bash.sh
docker:
  ENTRYPOINT: ["/app/entry.sh"]
  CMD: ["default-cmd"]
  WORKDIR: /app
  ENV:
    MODE: image
`;

describe('tsbuild run (docker run rules)', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };
  const run = (args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}) =>
    runCli(['run', '--dir', project.path, ...args], { home: home.path, ...opts });

  before(async () => {
    home = await homeWithLocalBase('run-home');
    project = await tempDir('run-project');
    await writeFile(join(project.path, 'werf.yaml'), YAML);
    const built = await runCli(['build', '--dir', project.path, '--pull', 'never'], { home: home.path });
    assert.equal(built.code, 0, built.stderr);
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  test('ENTRYPOINT + CMD by default; ARGS replace CMD only', async () => {
    assert.equal((await run(['app'])).stdout, 'entry:default-cmd\n');
    assert.equal((await run(['app', '--', 'a', 'b'])).stdout, 'entry:a b\n');
    // As with docker, what follows IMAGE is the command's, options included (no -- needed).
    assert.equal((await run(['app', '-x', '--flag'])).stdout, 'entry:-x --flag\n');
  });

  test('--entrypoint replaces ENTRYPOINT and drops the image CMD; "" clears it', async () => {
    let res = await run(['--entrypoint', '/bin/echo', 'app']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, '\n', 'the image CMD is not passed to another entrypoint');
    res = await run(['--entrypoint', '/bin/echo', 'app', 'x', 'y']);
    assert.equal(res.stdout, 'x y\n');
    res = await run(['--entrypoint', '', 'app', '--', 'sh', '-c', 'echo cleared']);
    assert.equal(res.stdout, 'cleared\n');
  });

  test("-e KEY=VALUE overrides the image env, -e KEY passes the caller's value or nothing; -w and -u", async () => {
    const res = await run(
      [
        '-e',
        'MODE=flag',
        '-e',
        'FROM_HOST',
        '-e',
        'UNSET_ON_HOST',
        '-w',
        '/tmp/new/dir',
        '-u',
        'user:staff',
        '--entrypoint',
        'sh',
        'app',
        '-c',
        'echo "$MODE|$FROM_HOST|${UNSET_ON_HOST-absent}|$HOME"; pwd; id -u; id -g',
      ],
      { env: { FROM_HOST: 'host value', UNSET_ON_HOST: undefined } },
    );
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'flag|host value|absent|/home/user\n/tmp/new/dir\n1000\n50\n');
    const numeric = await run(['-u', '4242', '--entrypoint', 'sh', 'app', '-c', 'id -u; id -g; echo $HOME']);
    assert.equal(numeric.stdout, '4242\n0\n/\n', 'a uid the image does not know runs with gid 0 and HOME=/ (Docker)');
    const missing = await run(['-u', 'nobody-here', 'app']);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /user "nobody-here" does not exist in the image's \/etc\/passwd/);
    const relative = await run(['-w', 'rel', 'app']);
    assert.equal(relative.code, 2);
    assert.match(relative.stderr, /working directory "rel" is not an absolute path/);
  });

  test('stdin is passed through', async () => {
    const res = await run(['--entrypoint', 'sh', 'app', '-c', 'read line; echo "got:$line"; cat'], { input: 'first\nsecond\n' });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'got:first\nsecond\n');
  });

  test('a missing command exits 127 and a non-executable one 126, with the exec error on stderr', async () => {
    let res = await run(['--entrypoint', 'no-such-tool', 'app']);
    assert.equal(res.code, 127);
    assert.equal(res.stdout, '');
    assert.match(res.stderr, /^tsbuild: error: exec: "no-such-tool": executable file not found in \$PATH$/m);
    res = await run(['--entrypoint', '/app/missing.sh', 'app']);
    assert.equal(res.code, 127);
    assert.match(res.stderr, /exec: "\/app\/missing\.sh": no such file or directory/);
    res = await run(['--entrypoint', './plain.sh', 'app']);
    assert.equal(res.code, 126);
    assert.match(res.stderr, /^tsbuild: error: exec: "\.\/plain\.sh": permission denied$/m);
    res = await run(['--entrypoint', '/app/bash.sh', 'app']);
    assert.equal(res.code, 127, 'a script whose interpreter the image lacks cannot be executed');
    assert.match(res.stderr, /exec: "\/app\/bash\.sh": no such file or directory \(its interpreter \/bin\/bash is not in the image\)/);
    res = await run(['--entrypoint', '/app', 'app']);
    assert.equal(res.code, 126);
    assert.match(res.stderr, /exec: "\/app": is a directory/);
    // The command's own exit code passes through unchanged.
    res = await run(['--entrypoint', 'sh', 'app', '-c', 'exit 42']);
    assert.equal(res.code, 42);
  });

  test('--rm is accepted and nothing of a run is kept', async () => {
    const res = await run(['--rm', '-i', '-t', '--entrypoint', 'sh', 'app', '-c', 'echo changed > /app/changed; echo done']);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'done\n');
    const again = await run(['--entrypoint', 'sh', 'app', '-c', 'test -e /app/changed && echo kept || echo gone']);
    assert.equal(again.stdout, 'gone\n');
    assert.deepEqual(await readdir(join(home.path, 'snapshots', 'active')).catch(() => []), [], 'no snapshot left behind');
  });

  test('help says ARGS replace CMD and documents the docker flags', async () => {
    const res = await runCli(['run', '--help'], { home: home.path });
    assert.match(res.stdout, /ARGS replace the image's CMD \(after its ENTRYPOINT\)/);
    for (const flag of ['--entrypoint <cmd>', '-e, --env <KEY\\[=VALUE\\]>', '-w, --workdir <dir>', '-u, --user <user>', '--rm']) {
      assert.match(res.stdout, new RegExp(flag));
    }
    assert.doesNotMatch(res.stdout, /instead of the image entrypoint/);
  });
});
