// Metadata when a layer is applied onto a tree, as umoci does it: the mtime of directories written
// into, xattrs of a directory described again, "./" names and the root entry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackLayer, type UnpackOptions } from './unpack.js';
import { encodeEntryHeader, END_OF_ARCHIVE, padding, type TarEntry } from './tar-writer.js';
import { fsx } from './fsx.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

const T1 = 1_600_000_000;
const T2 = 1_650_000_000;
const base = { mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: T1, mtimeNsec: 0 };

function file(path: string, content: string, extra: Partial<TarEntry> = {}): Buffer[] {
  const data = Buffer.from(content);
  return [encodeEntryHeader({ ...base, mode: 0o644, ...extra, path, type: 'file', size: data.length }), data, Buffer.alloc(padding(data.length))];
}
function entry(e: Partial<TarEntry> & Pick<TarEntry, 'path' | 'type'>): Buffer[] {
  return [encodeEntryHeader({ ...base, ...e })];
}

async function apply(dest: string, parts: Buffer[][], opts: Partial<UnpackOptions> = {}): Promise<string[]> {
  const warnings: string[] = [];
  const tar = Buffer.concat([...parts.flat(), END_OF_ARCHIVE]);
  await unpackLayer(Readable.from([tar]), dest, { mode: 'apply', compression: 'none', onWarning: (m) => warnings.push(m), ...opts });
  return warnings;
}

function mtime(p: string): string {
  const ns = lstatSync(p, { bigint: true }).mtimeNs;
  return `${ns / 1_000_000_000n}.${String(ns % 1_000_000_000n).padStart(9, '0')}`;
}

test('a directory written into keeps its mtime; one the layer describes gets its entry’s, to the nanosecond', async () => {
  const t = await tempDir('apply-mtime');
  try {
    const root = join(t.path, 'root');
    mkdirSync(root);
    await apply(root, [entry({ path: 'a', type: 'dir' }), file('a/x', 'x'), file('a/old', 'o'), entry({ path: 'a/sub', type: 'dir' }), file('a/sub/f', 'f')]);
    assert.equal(mtime(join(root, 'a')), `${T1}.000000000`);
    // Layer 2: files into a/ and a/sub/ (not described), a whiteout and an opaque marker there, a
    // hardlink; b/ described (with a sub-second mtime) after and before its content. (Making b/ for
    // b/early changes the root's mtime for good, as with umoci: only an entry's own parent is restored.)
    await apply(root, [
      file('a/y', 'y'),
      entry({ path: 'a/.wh.old', type: 'file' }),
      entry({ path: 'a/sub/.wh..wh..opq', type: 'file' }),
      entry({ path: 'a/lnk', type: 'link', linkname: 'a/x' }),
      file('b/early', 'e'),
      entry({ path: 'b', type: 'dir', mtimeSec: T2, mtimeNsec: 123456789 }),
      file('b/late', 'l'),
      file('top', 't'),
    ]);
    assert.equal(mtime(join(root, 'a')), `${T1}.000000000`, 'a/ is not described by layer 2: its mtime stays');
    assert.equal(mtime(join(root, 'a/sub')), `${T1}.000000000`, 'an opaque marker empties a/sub/ without touching its mtime');
    assert.equal(mtime(join(root, 'b')), `${T2}.123456789`);
    assert.equal(readFileSync(join(root, 'a/lnk'), 'utf8'), 'x');
    assert.ok(!lstatSync(join(root, 'a/sub/f'), { throwIfNoEntry: false }));
  } finally {
    await t.cleanup();
  }
});

test('a directory described again gets exactly the xattrs of its new entry', async () => {
  const t = await tempDir('apply-xattrs');
  try {
    const root = join(t.path, 'root');
    mkdirSync(root);
    const xattrs = (p: string): string[] =>
      fsx()
        .llistxattr(join(root, p))
        .filter((n) => n.startsWith('user.'))
        .sort()
        .map((n) => `${n}=${fsx().lgetxattr(join(root, p), n)?.toString()}`);
    const x = (pairs: Array<[string, string]>): Array<[string, Buffer]> => pairs.map(([k, v]) => [k, Buffer.from(v)]);
    await apply(root, [
      entry({
        path: 'd',
        type: 'dir',
        xattrs: x([
          ['user.a', '1'],
          ['user.b', '2'],
        ]),
      }),
      entry({ path: 'e', type: 'dir', xattrs: x([['user.a', '1']]) }),
    ]);
    assert.deepEqual(xattrs('d'), ['user.a=1', 'user.b=2']);
    await apply(root, [entry({ path: 'd', type: 'dir', xattrs: x([['user.b', '3']]) }), entry({ path: 'e', type: 'dir' }), file('f-in-untouched', '')]);
    assert.deepEqual(xattrs('d'), ['user.b=3'], 'as umoci does, and as an overlay upper dir hides the lower one');
    assert.deepEqual(xattrs('e'), []);
  } finally {
    await t.cleanup();
  }
});

test('"./" names land as plain ones; a root entry leaves the root as it is (as containerd does)', async () => {
  const t = await tempDir('apply-dot');
  try {
    for (const mode of ['apply', 'overlay'] as const) {
      const root = join(t.path, mode);
      mkdirSync(root);
      chmodSync(root, 0o755);
      const before = mtime(root);
      const warnings = await apply(
        root,
        [
          entry({ path: '.', type: 'dir', mode: 0o700, uid: 1000, gid: 1000, mtimeSec: T2, xattrs: [['user.root', Buffer.from('r')]] }),
          entry({ path: './etc', type: 'dir', mtimeSec: T2 }),
          file('./etc/x', 'x'),
          entry({ path: './etc/y', type: 'link', linkname: './etc/x' }),
        ],
        { mode },
      );
      assert.deepEqual(warnings, []);
      const st = statSync(root);
      assert.equal(st.mode & 0o7777, 0o755, mode);
      assert.equal(st.uid, process.getuid?.(), mode);
      // Entries below the root restore its mtime when applied ('overlay' mode makes a fresh lone dir,
      // whose root a stage never shows).
      if (mode === 'apply') assert.equal(mtime(root), before);
      assert.deepEqual(
        fsx()
          .llistxattr(root)
          .filter((n) => n.startsWith('user.')),
        [],
      );
      assert.equal(readFileSync(join(root, 'etc/y'), 'utf8'), 'x');
      assert.equal(mtime(join(root, 'etc')), `${T2}.000000000`);
    }
  } finally {
    await t.cleanup();
  }
});
