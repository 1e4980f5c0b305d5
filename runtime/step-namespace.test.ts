import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bindTable, fstabField } from './step-namespace.js';

test('fstab fields escape what would split or end a field', () => {
  assert.equal(fstabField('/a/b-c_d.e+f'), '/a/b-c_d.e+f');
  assert.equal(fstabField('/a b\tc\nd#e\\f'), '/a\\040b\\011c\\012d\\043e\\134f');
  assert.equal(fstabField('/é'), '/\\303\\251');
  assert.equal(bindTable([['/s', '/t']]), '/s /t none rbind 0 0\n');
});

test('mount --all binds every entry of the table, whatever the names (real mount, private mount namespace)', {
  skip: process.getuid?.() !== 0 && 'needs root',
}, async () => {
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-fstab-'));
  try {
    const names = ['plain', 'with space', 'tab\there', 'new\nline', '#hash', 'back\\slash', 'é ü'];
    const binds: Array<[string, string]> = [];
    for (const [i, name] of names.entries()) {
      await mkdir(join(root, 'src', name), { recursive: true });
      await writeFile(join(root, 'src', name, 'marker'), name);
      await mkdir(join(root, 'dst', String(i)), { recursive: true });
      binds.push([join(root, 'src', name), join(root, 'dst', String(i))]);
    }
    // A file bound on a file, as bash-static and resolv.conf are.
    await writeFile(join(root, 'src', 'a file'), 'file');
    await writeFile(join(root, 'dst', 'file'), '');
    binds.push([join(root, 'src', 'a file'), join(root, 'dst', 'file')]);
    await writeFile(join(root, 'binds.fstab'), bindTable(binds));
    const script = `mount --all --fstab "$1" || exit 125; shift; for d in "$@"; do cat "$d/marker"; printf '\\0'; done; cat "${join(root, 'dst', 'file')}"`;
    const out = execFileSync(
      'unshare',
      ['--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', join(root, 'binds.fstab'), ...names.map((_, i) => join(root, 'dst', String(i)))],
      { encoding: 'utf8' },
    );
    assert.deepEqual(out.split('\0'), [...names, 'file']);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
