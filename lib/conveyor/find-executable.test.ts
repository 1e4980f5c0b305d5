import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, copyFile, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable, resolveInRoot } from './find-executable.js';

test('findExecutable looks commands up like execvp, with symlinks kept inside the root', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-findexec-'));
  try {
    await mkdir(join(root, 'usr/bin'), { recursive: true });
    await mkdir(join(root, 'opt'), { recursive: true });
    await symlink('usr/bin', join(root, 'bin'));
    await writeFile(join(root, 'usr/bin/tool'), 'echo tool\n'); // no #!: nothing else to find
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
    assert.deepEqual(await findExecutable(root, 'nope', env, '/'), {
      found: false,
      exitCode: 127,
      message: 'exec: "nope": executable file not found in $PATH',
    });
    assert.deepEqual(await findExecutable(root, 'data', env, '/'), { found: false, exitCode: 126, message: 'exec: "data": permission denied' });
    assert.deepEqual(await findExecutable(root, '/opt', env, '/'), { found: false, exitCode: 126, message: 'exec: "/opt": is a directory' });
    assert.deepEqual(await findExecutable(root, '/opt/host', env, '/'), {
      found: false,
      exitCode: 127,
      message: 'exec: "/opt/host": no such file or directory',
    });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('a file whose interpreter the image lacks (#! line, ELF dynamic loader) is "no such file", naming it', async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-findexec-'));
  try {
    await mkdir(join(root, 'bin'), { recursive: true });
    await writeFile(join(root, 'bin/script'), '#!/bin/bash -e\necho hi\n');
    await chmod(join(root, 'bin/script'), 0o755);
    await copyFile('/bin/true', join(root, 'bin/true')); // dynamically linked (Debian): needs /lib64/ld-linux-x86-64.so.2
    await chmod(join(root, 'bin/true'), 0o755);
    await copyFile('/bin/busybox', join(root, 'bin/busybox')); // static: no interpreter
    await chmod(join(root, 'bin/busybox'), 0o755);
    const env = ['PATH=/bin'];
    assert.deepEqual(await findExecutable(root, 'script', env, '/'), {
      found: false,
      exitCode: 127,
      message: 'exec: "script": no such file or directory (its interpreter /bin/bash is not in the image)',
    });
    assert.deepEqual(await findExecutable(root, 'true', env, '/'), {
      found: false,
      exitCode: 127,
      message: 'exec: "true": no such file or directory (its interpreter /lib64/ld-linux-x86-64.so.2 is not in the image)',
    });
    assert.deepEqual(await findExecutable(root, 'busybox', env, '/'), { found: true, path: '/bin/busybox' });
    // With the interpreters in the image (the loader through a usrmerge-style symlink) they are found.
    await symlink('busybox', join(root, 'bin/bash'));
    await mkdir(join(root, 'usr/lib64'), { recursive: true });
    await writeFile(join(root, 'usr/lib64/ld-linux-x86-64.so.2'), '');
    await symlink('usr/lib64', join(root, 'lib64'));
    assert.deepEqual(await findExecutable(root, 'script', env, '/'), { found: true, path: '/bin/script' });
    assert.deepEqual(await findExecutable(root, 'true', env, '/'), { found: true, path: '/bin/true' });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
