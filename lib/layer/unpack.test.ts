import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createGzip, gzipSync } from 'node:zlib';
import { unpackLayer, type UnpackOptions } from './unpack.js';
import { encodeEntryHeader, END_OF_ARCHIVE, padding, type TarEntry } from './tar-writer.js';
import { TypeFlag, encodePaxRecords, encodeRawHeader } from './tar-format.js';
import { fsx } from './fsx.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

const base = { mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 1_700_000_000, mtimeNsec: 0 };

function file(path: string, content: string, extra: Partial<TarEntry> = {}): Buffer[] {
  const data = Buffer.from(content);
  return [encodeEntryHeader({ ...base, ...extra, path, type: 'file', size: data.length }), data, Buffer.alloc(padding(data.length))];
}
function entry(e: Partial<TarEntry> & Pick<TarEntry, 'path' | 'type'>): Buffer[] {
  return [encodeEntryHeader({ ...base, ...e })];
}
/** A raw header: any name, any type, no cleaning (how an attacker writes it). */
function raw(name: string, typeflag: number, opts: { size?: number; linkname?: string; data?: Buffer } = {}): Buffer[] {
  const data = opts.data ?? Buffer.alloc(0);
  return [
    encodeRawHeader({ name, typeflag, mode: 0o644, size: opts.size ?? data.length, linkname: opts.linkname ?? '' }),
    data,
    Buffer.alloc(padding(data.length)),
  ];
}
function tarOf(...parts: Buffer[][]): Buffer {
  return Buffer.concat([...parts.flat(), END_OF_ARCHIVE]);
}

async function unpackBuf(tar: Buffer, dest: string, opts: Partial<UnpackOptions> = {}): Promise<string[]> {
  const warnings: string[] = [];
  await unpackLayer(Readable.from([gzipSync(tar)]), dest, { mode: 'apply', compression: 'gzip', onWarning: (m) => warnings.push(m), ...opts });
  return warnings;
}

/** A sandbox: root/dest is the destination, root/victim a dir outside it that must stay untouched. */
function sandbox(t: { path: string }): { dest: string; victim: string; untouched: () => void } {
  const dest = join(t.path, 'dest');
  const victim = join(t.path, 'victim');
  mkdirSync(dest);
  mkdirSync(victim);
  writeFileSync(join(victim, 'passwd'), 'victim');
  return {
    dest,
    victim,
    untouched: () => {
      assert.deepEqual(readdirSync(victim), ['passwd']);
      assert.equal(readFileSync(join(victim, 'passwd'), 'utf8'), 'victim');
      assert.equal(lstatSync(join(victim, 'passwd')).nlink, 1);
    },
  };
}

test('names with ".." are rejected and nothing is written outside', async () => {
  const t = tempDir('dotdot');
  try {
    const s = sandbox(t);
    await assert.rejects(unpackBuf(tarOf(raw('../victim/evil', TypeFlag.File, { data: Buffer.from('x') })), s.dest), { code: 'TSB_LAYER_UNSAFE' });
    await assert.rejects(unpackBuf(tarOf(raw('a/../../victim/evil', TypeFlag.File)), s.dest), { code: 'TSB_LAYER_UNSAFE' });
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('absolute names are contained in the destination', async () => {
  const t = tempDir('abs');
  try {
    const s = sandbox(t);
    await unpackBuf(tarOf(raw(`${s.victim}/abs`, TypeFlag.File, { data: Buffer.from('in') }), raw('////etc/x', TypeFlag.File)), s.dest);
    assert.equal(readFileSync(join(s.dest, s.victim, 'abs'), 'utf8'), 'in');
    assert.ok(existsSync(join(s.dest, 'etc/x')));
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('a symlink to outside then a file through it lands inside the root', async () => {
  const t = tempDir('symlink-parent');
  try {
    const s = sandbox(t);
    for (const target of [s.victim, '../../../../../../victim', `/../${s.victim}`]) {
      const tar = tarOf(entry({ path: 'x', type: 'symlink', linkname: target }), raw('x/passwd', TypeFlag.File, { data: Buffer.from('pwned') }));
      await unpackBuf(tar, s.dest);
      s.untouched();
    }
    // The symlink itself is kept verbatim; the file went to the in-root resolution of its target.
    assert.equal(readlinkSync(join(s.dest, 'x')), `/../${s.victim}`);
    assert.equal(readFileSync(join(s.dest, s.victim, 'passwd'), 'utf8'), 'pwned');
    assert.equal(readFileSync(join(s.dest, 'victim/passwd'), 'utf8'), 'pwned');
  } finally {
    t.cleanup();
  }
});

test('hardlinks must target inside the root; a link to a symlink never reaches its target', async () => {
  const t = tempDir('hardlink');
  try {
    const s = sandbox(t);
    await assert.rejects(unpackBuf(tarOf(raw('l', TypeFlag.Link, { linkname: '../../victim/passwd' })), s.dest), { code: 'TSB_LAYER_UNSAFE' });
    // Absolute link names are root-relative: the host file is not there, so this fails as missing.
    await assert.rejects(unpackBuf(tarOf(raw('l', TypeFlag.Link, { linkname: `${s.victim}/passwd` })), s.dest), /does not exist in the layer root/);
    // Symlink then hardlink to it then a file replacing the hardlink (CVE-2021-32760 shape).
    await unpackBuf(
      tarOf(
        entry({ path: 'outside', type: 'symlink', linkname: join(s.victim, 'passwd') }),
        raw('sketchy', TypeFlag.Link, { linkname: 'outside' }),
        file('sketchy', 'replaced', { mode: 0o777 }),
      ),
      s.dest,
    );
    assert.equal(readFileSync(join(s.dest, 'sketchy'), 'utf8'), 'replaced');
    // Hardlink through a symlinked parent resolves in root.
    await unpackBuf(
      tarOf(
        entry({ path: 'd1', type: 'symlink', linkname: '../../victim' }),
        file('victim/passwd', 'inner'),
        raw('mypasswd', TypeFlag.Link, { linkname: 'd1/passwd' }),
      ),
      s.dest,
    );
    assert.equal(readFileSync(join(s.dest, 'mypasswd'), 'utf8'), 'inner');
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('a PAX header claiming 100 MB is refused before it is buffered', async () => {
  const t = tempDir('pax-bomb');
  try {
    const s = sandbox(t);
    const hdr = encodeRawHeader({ name: 'PaxHeaders/x', typeflag: TypeFlag.PaxLocal, size: 100_000_000 });
    const tar = Buffer.concat([hdr, Buffer.alloc(4096)]);
    await assert.rejects(unpackBuf(tar, s.dest), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TSB_TOO_LARGE');
      assert.match(err.message, /maxHeaderBytes/);
      return true;
    });
    const gnu = Buffer.concat([encodeRawHeader({ name: '././@LongLink', typeflag: TypeFlag.GnuLongName, size: 50_000_000 }), Buffer.alloc(1024)]);
    await assert.rejects(unpackBuf(gnu, s.dest), { code: 'TSB_TOO_LARGE' });
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('a gzip bomb stops at the expansion cap while streaming', async () => {
  const t = tempDir('gzip-bomb');
  try {
    const s = sandbox(t);
    // 1 GiB of zeros behind a file header claiming 1 GiB: ~1 MB compressed.
    // Streaming is checked by counting what was read, not by timing: the source is pulled only as
    // fast as the unpacker takes it, so a run that expanded everything would read all 1024 MiB.
    const gz = createGzip({ level: 9 });
    let mibRead = 0;
    const src = Readable.from(
      (function* () {
        yield encodeEntryHeader({ ...base, path: 'zeros', type: 'file', size: 2 ** 30 });
        const z = Buffer.alloc(1 << 20);
        for (let i = 0; i < 1024; i++) {
          mibRead++;
          yield z;
        }
      })(),
    ).pipe(gz);
    await assert.rejects(
      unpackLayer(src, s.dest, { mode: 'apply', compression: 'gzip', limits: { maxTotalBytes: 64 << 20 } }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TSB_TOO_LARGE');
        assert.match(err.message, /maxTotalBytes/);
        return true;
      },
    );
    assert.ok(mibRead < 512, `read ${mibRead} MiB of the 1024 before stopping at the 64 MiB cap`);
    await assert.rejects(unpackBuf(tarOf(file('big', 'x'.repeat(100))), s.dest, { limits: { maxEntrySize: 10 } }), /maxEntrySize/);
    await assert.rejects(unpackBuf(tarOf(file('a', ''), file('b', ''), file('c', '')), s.dest, { limits: { maxEntries: 2 } }), /maxEntries/);
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('whiteout abuse stays in the root and same-layer files survive their whiteout', async () => {
  const t = tempDir('whiteouts');
  try {
    const s = sandbox(t);
    mkdirSync(join(s.dest, 'etc'));
    writeFileSync(join(s.dest, 'etc/whitedout'), 'lower');
    writeFileSync(join(s.dest, 'etc/keep'), 'lower');
    for (const name of ['.wh..', 'etc/.wh..', '.wh.']) {
      await assert.rejects(unpackBuf(tarOf(raw(name, TypeFlag.File)), s.dest), { code: 'TSB_LAYER_UNSAFE' }, name);
    }
    await unpackBuf(tarOf(entry({ path: 'localetc', type: 'symlink', linkname: '/etc' })), s.dest);
    await unpackBuf(tarOf(raw('localetc/.wh.whitedout', TypeFlag.File), file('etc/new', 'n'), raw('etc/.wh.new', TypeFlag.File)), s.dest);
    assert.deepEqual(readdirSync(join(s.dest, 'etc')).sort(), ['keep', 'new']);
    await unpackBuf(tarOf(raw('.wh.localetc', TypeFlag.File)), s.dest);
    assert.equal(existsSync(join(s.dest, 'localetc')), false);
    assert.ok(existsSync(join(s.dest, 'etc/keep')));
    // Opaque marker applies to lower content only, wherever it sits in the tar.
    await unpackBuf(tarOf(entry({ path: 'etc', type: 'dir', mode: 0o755 }), file('etc/fresh', 'f'), raw('etc/.wh..wh..opq', TypeFlag.File)), s.dest);
    assert.deepEqual(readdirSync(join(s.dest, 'etc')), ['fresh']);
    s.untouched();
  } finally {
    t.cleanup();
  }
});

test('overlay mode writes whiteouts as 0/0 devices; rootless skips device nodes with a warning', async () => {
  const t = tempDir('overlay-mode');
  try {
    const s = sandbox(t);
    const warnings = await unpackBuf(
      tarOf(
        raw('.wh.gone', TypeFlag.File),
        entry({ path: 'd', type: 'dir', mode: 0o755 }),
        raw('d/.wh..wh..opq', TypeFlag.File),
        entry({ path: 'tty', type: 'char', devmajor: 5, devminor: 0 }),
      ),
      s.dest,
      { mode: 'overlay', rootless: true, chown: false },
    );
    assert.ok(lstatSync(join(s.dest, 'gone')).isCharacterDevice());
    assert.equal(fsx().lgetxattr(join(s.dest, 'd'), 'user.overlay.opaque')?.toString(), 'y');
    assert.equal(existsSync(join(s.dest, 'tty')), false);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /skipped device node tty/);
  } finally {
    t.cleanup();
  }
});

test('overlay xattrs inside a layer are dropped, other xattrs applied', async () => {
  const t = tempDir('xattr-drop');
  try {
    const s = sandbox(t);
    const tar = tarOf(
      entry({
        path: 'd',
        type: 'dir',
        mode: 0o755,
        xattrs: [
          ['trusted.overlay.redirect', Buffer.from('/etc')],
          ['user.keep', Buffer.from([0x80, 0])],
        ],
      }),
    );
    const warnings = await unpackBuf(tar, s.dest, { mode: 'overlay' });
    assert.equal(fsx().lgetxattr(join(s.dest, 'd'), 'trusted.overlay.redirect'), undefined);
    assert.deepEqual(fsx().lgetxattr(join(s.dest, 'd'), 'user.keep'), Buffer.from([0x80, 0]));
    assert.match(warnings.join('\n'), /dropped xattr trusted\.overlay\.redirect/);
  } finally {
    t.cleanup();
  }
});

test('digest and diffId are verified when expected values are given', async () => {
  const t = tempDir('verify');
  try {
    const s = sandbox(t);
    const gz = gzipSync(tarOf(file('a', 'a')));
    await assert.rejects(
      unpackLayer(Readable.from([gz]), s.dest, { mode: 'apply', compression: 'gzip', expected: { digest: `sha256:${'0'.repeat(64)}` } }),
      (err: Error & { code?: string }) => err.code === 'TSB_DIGEST_MISMATCH' && /expected sha256:0000/.test(err.message),
    );
    await assert.rejects(
      unpackLayer(Readable.from([gz]), s.dest, { mode: 'apply', compression: 'gzip', expected: { diffId: `sha256:${'1'.repeat(64)}` } }),
      /diffId of layer/,
    );
    const corrupt = Buffer.from(gz);
    corrupt[corrupt.length - 6]! ^= 0xff; // CRC
    await assert.rejects(unpackLayer(Readable.from([corrupt]), s.dest, { mode: 'apply', compression: 'gzip' }), { code: 'TSB_LAYER_INVALID' });
    await assert.rejects(unpackLayer(Readable.from([gz.subarray(0, gz.length - 30)]), s.dest, { mode: 'apply', compression: 'gzip' }), {
      code: 'TSB_LAYER_INVALID',
    });
  } finally {
    t.cleanup();
  }
});

test('we read GNU tar output: --format=gnu long names, --format=pax, xattrs, hardlinks', async () => {
  const t = tempDir('gnu-read');
  try {
    const src = join(t.path, 'src');
    const longDir = join(src, 'd'.repeat(120), 'e'.repeat(120));
    mkdirSync(longDir, { recursive: true });
    writeFileSync(join(longDir, 'f'.repeat(200)), 'deep');
    execFileSync('ln', ['-s', 'l'.repeat(150), join(src, 'longlink')]);
    execFileSync('ln', [join(longDir, 'f'.repeat(200)), join(src, 'hard')]);
    writeFileSync(join(src, 'cap'), 'c');
    execFileSync('chown', ['3000000:3000000', join(src, 'cap')]); // before the capability: chown clears it
    fsx().lsetxattr(join(src, 'cap'), 'security.capability', Buffer.from('0100000280000000000000000000000000000000', 'hex'));
    for (const format of ['gnu', 'pax']) {
      const tarFile = join(t.path, `${format}.tar.gz`);
      execFileSync('tar', [`--format=${format}`, '--xattrs', '--xattrs-include=*', '-czf', tarFile, '-C', src, '.']);
      const dest = join(t.path, `out-${format}`);
      mkdirSync(dest);
      await unpackLayer(createReadStream(tarFile), dest, { mode: 'apply', compression: 'gzip' });
      assert.equal(readFileSync(join(dest, 'd'.repeat(120), 'e'.repeat(120), 'f'.repeat(200)), 'utf8'), 'deep', format);
      assert.equal(readlinkSync(join(dest, 'longlink')), 'l'.repeat(150));
      assert.equal(lstatSync(join(dest, 'hard')).nlink, 2);
      assert.equal(lstatSync(join(dest, 'cap')).uid, 3_000_000, format);
      if (format === 'pax')
        assert.equal(fsx().lgetxattr(join(dest, 'cap'), 'security.capability')?.toString('hex'), '0100000280000000000000000000000000000000');
    }
  } finally {
    t.cleanup();
  }
});

test('PAX records keep binary values byte for byte', () => {
  const rec = encodePaxRecords([
    ['SCHILY.xattr.user.x', Buffer.from([0x80, 0xff, 0x0a, 0x00])],
    ['path', 'ü'.repeat(50)],
  ]);
  assert.ok(rec.includes(Buffer.from([0x80, 0xff, 0x0a, 0x00, 0x0a])));
});
