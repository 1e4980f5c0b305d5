import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, resolveInRoot } from './find-executable.js';

test('findExecutable looks commands up like execvp, with symlinks kept inside the root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-findexec-'));
  try {
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await mkdir(join(root, 'opt'), { recursive: true });
    await symlink('usr/bin', join(root, 'bin'));
    await writeFile(join(root, 'usr/bin/tool'), '#!/bin/sh\n');
    await chmod(join(root, 'usr/bin/tool'), 0o755);
    await writeFile(join(root, 'opt/data'), 'x');
    await chmod(join(root, 'opt/data'), 0o644);
    await symlink('/../../../usr/bin/tool', join(root, 'opt/up')); // absolute, climbing: still the image's /usr/bin/tool
    await symlink('/etc/shadow', join(root, 'opt/host')); // would be a host file if followed outside
    const env = ['PATH=/opt:/bin'];
    assert.deepEqual(await findExecutable(root, 'tool', env, '/'), { found: true, path: '/bin/tool' });
    assert.deepEqual(await findExecutable(root, '../usr/bin/tool', env, '/opt'), { found: true, path: '/usr/bin/tool' });
    assert.deepEqual(await findExecutable(root, '/opt/up', env, '/'), { found: true, path: '/opt/up' });
    assert.equal(await resolveInRoot(root, '/opt/up'), join(root, 'usr/bin/tool'));
    assert.equal(await resolveInRoot(root, '/opt/host'), undefined, 'resolved inside the root, where it does not exist');
    assert.deepEqual(await findExecutable(root, 'nope', env, '/'), { found: false, exitCode: 127, message: 'exec: "nope": executable file not found in $PATH' });
    assert.deepEqual(await findExecutable(root, 'data', env, '/'), { found: false, exitCode: 126, message: 'exec: "data": permission denied' });
    assert.deepEqual(await findExecutable(root, '/opt', env, '/'), { found: false, exitCode: 126, message: 'exec: "/opt": is a directory' });
    assert.deepEqual(await findExecutable(root, '/opt/host', env, '/'), { found: false, exitCode: 127, message: 'exec: "/opt/host": no such file or directory' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
