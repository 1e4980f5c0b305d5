// Hostile numbers and sizes in layer tars (reliability catalog A4, A8, A11): what the unpacker
// cannot represent is refused as an invalid layer naming the entry (never an internal error, never a
// silently truncated value), and header memory stays bounded however many headers there are.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { unpackLayer } from './unpack.js';
import { LayerApplier } from './tar-apply.js';
import { TarParser } from './tar-reader.js';
import { END_OF_ARCHIVE, padding } from './tar-writer.js';
import { TypeFlag, encodePaxRecords, encodeRawHeader, type RawHeader } from './tar-format.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

function raw(h: Partial<RawHeader>, data = Buffer.alloc(0)): Buffer[] {
  return [encodeRawHeader({ mode: 0o644, ...h, size: data.length }), data, Buffer.alloc(padding(data.length))];
}
function pax(typeflag: number, records: Array<[string, Buffer | string]>): Buffer[] {
  const data = encodePaxRecords(records);
  return [encodeRawHeader({ name: 'PaxHeaders/x', typeflag, size: data.length }), data, Buffer.alloc(padding(data.length))];
}
const file = (name: string): Buffer[] => raw({ name, typeflag: TypeFlag.File }, Buffer.from('x'));

async function unpack(parts: Buffer[][], dest: string): Promise<string[]> {
  const warnings: string[] = [];
  const tar = Buffer.concat([...parts.flat(), END_OF_ARCHIVE]);
  await unpackLayer(Readable.from([tar]), dest, { mode: 'apply', compression: 'none', onWarning: (m) => warnings.push(m) });
  return warnings;
}

function fresh(root: string, name: string): string {
  const d = join(root, name);
  mkdirSync(d);
  return d;
}

test('global PAX headers are bounded in total, not only one by one', async () => {
  const t = tempDir('pax-global');
  try {
    // Each 'g' header is under the 1 MiB per-header cap, but their records add up: with new keys
    // every time, all of them would stay in memory until the end of the layer.
    const big = (i: number): Buffer[] => pax(TypeFlag.PaxGlobal, [[`k${i}`, Buffer.alloc(600_000, 0x61)]]);
    const dest = fresh(t.path, 'many');
    await assert.rejects(unpack([big(1), big(2), big(3), file('f')], dest), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TSB_TOO_LARGE');
      assert.match(err.message, /global PAX headers .* maxHeaderBytes/);
      return true;
    });
    // The same key given again replaces its value: that is not growth.
    const same = (): Buffer[] => pax(TypeFlag.PaxGlobal, [['k', Buffer.alloc(600_000, 0x61)]]);
    const ok = fresh(t.path, 'same');
    await unpack([same(), same(), same(), same(), file('f')], ok);
    assert.deepEqual(readdirSync(ok), ['f']);
  } finally {
    t.cleanup();
  }
});

test('ids and device numbers Linux cannot hold are refused naming the entry', async () => {
  const t = tempDir('ids');
  try {
    const cases: Array<[string, Buffer[][]]> = [
      ['negative uid (base-256)', [raw({ name: 'f', typeflag: TypeFlag.File, uid: -5 })]],
      ['PAX uid 2^40', [pax(TypeFlag.PaxLocal, [['uid', String(2 ** 40)]]), raw({ name: 'f', typeflag: TypeFlag.File })]],
      // (uid_t)-1 tells chown "leave it": the file would silently keep the unpacker's owner.
      ['gid 2^32-1', [raw({ name: 'f', typeflag: TypeFlag.File, gid: 2 ** 32 - 1 })]],
      // Beyond mknod's 12-bit major: the device made would be another one than the layer names.
      ['device 4096:0', [raw({ name: 'f', typeflag: TypeFlag.Char, devmajor: 4096 })]],
      ['device 1:2^20', [raw({ name: 'f', typeflag: TypeFlag.Block, devmajor: 1, devminor: 2 ** 20 })]],
    ];
    for (const [label, parts] of cases) {
      const dest = fresh(t.path, label.replace(/\W/g, '_'));
      await assert.rejects(
        unpack(parts, dest),
        (err: Error & { code?: string }) => {
          assert.equal(err.code, 'TSB_LAYER_INVALID', `${label}: ${err.message}`);
          assert.match(err.message, /entry "f"/, label);
          return true;
        },
        label,
      );
      assert.equal(existsSync(join(dest, 'f')), false, label);
    }
    // The largest valid values still unpack.
    const ok = fresh(t.path, 'ok');
    await unpack([raw({ name: 'f', typeflag: TypeFlag.File, uid: 2 ** 32 - 2, gid: 65534 })], ok);
    assert.deepEqual(readdirSync(ok), ['f']);
  } finally {
    t.cleanup();
  }
});

test('a name too long for the file system is a layer error naming the entry; an xattr no file can carry is skipped', async () => {
  const t = tempDir('long-names');
  try {
    const cases: Array<[string, string]> = [
      ['a 300-byte component', `d/${'a'.repeat(300)}`],
      ['a 6000-byte path', `${`${'b'.repeat(200)}/`.repeat(30)}x`],
      ['3000 nested directories', `${'c/'.repeat(3000)}x`],
    ];
    for (const [label, name] of cases) {
      const dest = fresh(t.path, label.replace(/\W/g, '_'));
      await assert.rejects(
        unpack([pax(TypeFlag.PaxLocal, [['path', name]]), file('ignored')], dest),
        (err: Error & { code?: string; hint?: string }) => {
          assert.equal(err.code, 'TSB_LAYER_INVALID', `${label}: ${err.message}`);
          assert.match(err.message, /too long for the file system/, label);
          assert.match(err.hint ?? '', /255 bytes per name/);
          return true;
        },
        label,
      );
      // What was made up to the limit is ~2000 levels deep: too deep for the synchronous rmSync of cleanup().
      await rm(dest, { recursive: true });
    }
    const dest = fresh(t.path, 'xattr');
    const warnings = await unpack([pax(TypeFlag.PaxLocal, [[`SCHILY.xattr.user.${'x'.repeat(300)}`, 'v']]), file('f')], dest);
    assert.deepEqual(readdirSync(dest), ['f']);
    assert.match(warnings.join('\n'), /could not set xattr user\.x+ on f \(ENAMETOOLONG\); it is skipped/);
    // A NUL in an xattr name would cut it short in the system call (Go's pax-nul-xattrs.tar).
    await assert.rejects(unpack([pax(TypeFlag.PaxLocal, [['SCHILY.xattr.user.a\0b', 'v']]), file('g')], fresh(t.path, 'nul')), {
      code: 'TSB_LAYER_INVALID',
      message: /xattr name with a NUL byte on "g"/,
    });
  } finally {
    t.cleanup();
  }
});

test('repeated whiteouts and opaque markers are done once: the removal walks stay linear in the layer', () => {
  const t = tempDir('repeats');
  try {
    const dest = fresh(t.path, 'root');
    // Lower content the first marker removes.
    mkdirSync(join(dest, 'd'));
    mkdirSync(join(dest, 'e'));
    for (let i = 0; i < 50; i++) writeFileSync(join(dest, 'd', `lower${i}`), 'l');
    const n = 1000;
    const parts: Buffer[][] = [raw({ name: 'd/', typeflag: TypeFlag.Dir, mode: 0o755 }), raw({ name: 'e/', typeflag: TypeFlag.Dir, mode: 0o755 })];
    for (let i = 0; i < n; i++) parts.push(file(`d/f${i}`), file(`e/g${i}`));
    // Each marker would walk everything this layer wrote in d, each whiteout all of e: n × n lstats.
    for (let i = 0; i < n; i++) parts.push(raw({ name: 'd/.wh..wh..opq', typeflag: TypeFlag.File }), raw({ name: '.wh.e', typeflag: TypeFlag.File }));
    const applier = new LayerApplier({ root: dest, mode: 'apply', rootless: false, chown: false, xattrs: true, warning: () => undefined });
    const parser = new TarParser(applier);
    parser.push(Buffer.concat([...parts.flat(), END_OF_ARCHIVE]));
    parser.end();
    applier.finish();
    assert.equal(readdirSync(join(dest, 'd')).length, n, 'the lower files are gone, the layer’s kept');
    assert.equal(readdirSync(join(dest, 'e')).length, n, 'a whiteout does not hide what its own layer wrote');
    assert.ok(applier.removalVisits <= 4 * n, `${applier.removalVisits} paths looked at for ${4 * n} entries`);
  } finally {
    t.cleanup();
  }
});

test('size lies, sparse and negative sizes are refused; gzip framing follows one rule (catalog A8, A9)', async () => {
  const t = tempDir('framing');
  try {
    const tar = Buffer.concat([...file('f'), END_OF_ARCHIVE]);
    const run = async (buf: Buffer, compression: 'gzip' | 'none') => {
      const dest = fresh(t.path, `d${readdirSync(t.path).length}`);
      return unpackLayer(Readable.from([buf]), dest, { mode: 'apply', compression });
    };
    for (const [label, buf, message] of [
      [
        'a header claiming 100 GiB with 1 KiB behind it',
        Buffer.concat([encodeRawHeader({ name: 'f', typeflag: TypeFlag.File, size: 100 * 2 ** 30 }), Buffer.alloc(1024)]),
        /truncated/,
      ],
      ['a GNU sparse entry', Buffer.concat([...raw({ name: 's', typeflag: TypeFlag.GnuSparse }), END_OF_ARCHIVE]), /sparse file "s" is not supported/],
      [
        'a PAX GNU.sparse entry',
        Buffer.concat([...pax(TypeFlag.PaxLocal, [['GNU.sparse.major', '1']]), ...file('s'), END_OF_ARCHIVE]),
        /sparse file "s" is not supported/,
      ],
      ['a negative base-256 size', Buffer.concat([encodeRawHeader({ name: 'n', typeflag: TypeFlag.File, size: -1024 }), END_OF_ARCHIVE]), /negative size/],
    ] as Array<[string, Buffer, RegExp]>) {
      await assert.rejects(run(buf, 'none'), { code: 'TSB_LAYER_INVALID', message }, label);
    }
    // gzip: NUL padding after the member and several members are read (as Node's zlib and umoci do);
    // anything else after the member is an error. The diffId always covers every tar byte, the
    // padding after the end-of-archive blocks included; a tar without those blocks is accepted.
    const one = gzipSync(tar);
    const expected = (await run(one, 'gzip')).diffId;
    assert.equal((await run(Buffer.concat([one, Buffer.alloc(512)]), 'gzip')).diffId, expected);
    assert.equal((await run(Buffer.concat([gzipSync(tar.subarray(0, 512)), gzipSync(tar.subarray(512))]), 'gzip')).diffId, expected);
    await assert.rejects(run(Buffer.concat([one, Buffer.from('GARBAGE')]), 'gzip'), { code: 'TSB_LAYER_INVALID', message: /not valid gzip/ });
    const padded = Buffer.concat([tar, Buffer.alloc(10240)]);
    const r = await run(gzipSync(padded), 'gzip');
    assert.equal(r.uncompressedSize, padded.length);
    assert.equal(r.diffId, `sha256:${createHash('sha256').update(padded).digest('hex')}`);
    assert.equal((await run(gzipSync(tar.subarray(0, 1024)), 'gzip')).entries, 1);
  } finally {
    t.cleanup();
  }
});
