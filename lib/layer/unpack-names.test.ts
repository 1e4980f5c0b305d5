// Type changes and hostile names within one layer (reliability catalog A2, A4, A7), in both unpack
// modes: a directory the resolver has seen replaced by a symlink to a host directory must not be
// written through from a cached resolution; names that mean the root are ignored, never a symlink
// replacing it; NUL bytes in PAX names and link names are refused before any system call.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { unpackLayer, type UnpackOptions } from './unpack.js';
import { END_OF_ARCHIVE, padding } from './tar-writer.js';
import { TypeFlag, encodePaxRecords, encodeRawHeader, type RawHeader } from './tar-format.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

function raw(h: Partial<RawHeader>, content = ''): Buffer[] {
  const data = Buffer.from(content);
  return [encodeRawHeader({ mode: 0o755, ...h, size: data.length }), data, Buffer.alloc(padding(data.length))];
}
function pax(records: Array<[string, string]>): Buffer[] {
  const data = encodePaxRecords(records);
  return [encodeRawHeader({ name: 'PaxHeaders/x', typeflag: TypeFlag.PaxLocal, size: data.length }), data, Buffer.alloc(padding(data.length))];
}

async function unpack(parts: Buffer[][], dest: string, mode: UnpackOptions['mode']): Promise<string[]> {
  const warnings: string[] = [];
  const tar = Buffer.concat([...parts.flat(), END_OF_ARCHIVE]);
  await unpackLayer(Readable.from([tar]), dest, { mode, compression: 'none', chown: false, onWarning: (m) => warnings.push(m) });
  return warnings;
}

for (const mode of ['apply', 'overlay'] as const) {
  test(`${mode}: a directory replaced by a symlink to a host directory is not written through; names of the root are ignored; NULs refused`, async () => {
    const t = tempDir(`names-${mode}`);
    try {
      const victim = join(t.path, 'victim');
      mkdirSync(victim);
      writeFileSync(join(victim, 'passwd'), 'victim');
      let n = 0;
      const fresh = (): string => {
        const d = join(t.path, `dest${n++}`);
        mkdirSync(d);
        return d;
      };
      // dir a (resolved once for a/x) → symlink a → victim → a/pwned → dir a// again → a//q.
      const dest = fresh();
      await unpack(
        [
          raw({ name: 'a/', typeflag: TypeFlag.Dir }),
          raw({ name: 'a/x', typeflag: TypeFlag.File }, 'x'),
          raw({ name: 'a', typeflag: TypeFlag.Symlink, linkname: victim }),
          raw({ name: 'a/pwned', typeflag: TypeFlag.File }, 'p'),
          raw({ name: 'a//', typeflag: TypeFlag.Dir }),
          raw({ name: 'a//q', typeflag: TypeFlag.File }, 'q'),
        ],
        dest,
        mode,
      );
      assert.deepEqual(readdirSync(join(dest, 'a')), ['q'], 'the last entry for a (a directory) wins, empty but for q');
      assert.equal(readFileSync(join(dest, victim, 'pwned'), 'utf8'), 'p', 'the write through the symlink stayed in the root');

      // A symlink named "." or "/" pointing at the host directory: the root stays the root.
      const dot = fresh();
      const warnings = await unpack(
        [
          raw({ name: '.', typeflag: TypeFlag.Symlink, linkname: victim }),
          raw({ name: '/', typeflag: TypeFlag.Symlink, linkname: victim }),
          raw({ name: 'x', typeflag: TypeFlag.File }, 'x'),
          raw({ name: '', typeflag: TypeFlag.File }, 'e'),
        ],
        dot,
        mode,
      );
      assert.ok(lstatSync(dot).isDirectory());
      assert.deepEqual(readdirSync(dot), ['x']);
      assert.equal(warnings.filter((w) => /names the root directory/.test(w)).length, 3, warnings.join('\n'));

      for (const [label, parts] of [
        ['NUL in a PAX path', [pax([['path', 'a\0b']]), raw({ name: 'z', typeflag: TypeFlag.File })]],
        ['NUL in a PAX symlink target', [pax([['linkpath', `${victim}\0x`]]), raw({ name: 'z', typeflag: TypeFlag.Symlink })]],
        ['NUL in a hardlink target', [raw({ name: 'f', typeflag: TypeFlag.File }), pax([['linkpath', 'f\0x']]), raw({ name: 'z', typeflag: TypeFlag.Link })]],
        ['a whiteout of ".." below the root', [raw({ name: 'etc/.wh...', typeflag: TypeFlag.File })]],
      ] as Array<[string, Buffer[][]]>) {
        const d = fresh();
        await assert.rejects(unpack(parts, d, mode), { code: 'TSB_LAYER_UNSAFE' }, label);
        assert.ok(!readdirSync(d).includes('z'), label);
      }
      assert.deepEqual(readdirSync(victim), ['passwd']);
      assert.equal(readFileSync(join(victim, 'passwd'), 'utf8'), 'victim');
    } finally {
      t.cleanup();
    }
  });
}
