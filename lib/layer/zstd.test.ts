import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createZstdCompress, createZstdDecompress } from './zstd.js';
import { parseLayerCompression } from './layer-compression.js';

async function through(input: Buffer, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const out: Buffer[] = [];
  // Feed in uneven pieces, as a tar stream would arrive.
  const pieces = [];
  for (let off = 0; off < input.length; off += 100_003) pieces.push(input.subarray(off, off + 100_003));
  await pipeline(
    Readable.from(pieces),
    transform,
    new Writable({
      write: (c: Buffer, _e, cb) => {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

describe('zstd through the zstd program', () => {
  const data = Buffer.concat([randomBytes(3 << 20), Buffer.from('text that compresses well '.repeat(100_000))]);

  test('round trip; output depends only on input and level; the zstd program reads it', async () => {
    const a = await through(data, createZstdCompress(3));
    const b = await through(data, createZstdCompress(3));
    assert.ok(a.equals(b), 'same input and level, same bytes');
    assert.equal(a.readUInt32LE(0), 0xfd2fb528, 'zstd frame magic');
    assert.ok(a.length < data.length);
    assert.ok((await through(a, createZstdDecompress())).equals(data));
    assert.ok(execFileSync('zstd', ['-q', '-d', '-c'], { input: a, maxBuffer: 64 << 20 }).equals(data));
    const high = await through(data, createZstdCompress(12));
    assert.ok(!high.equals(a), 'the level is used');
  });

  test('corrupt input fails with the program message; a missing program says what to install', async () => {
    await assert.rejects(through(Buffer.from('not zstd at all, not even close'), createZstdDecompress()), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TSB_LAYER_INVALID');
      assert.match(err.message, /decompressing a zstd layer failed: .+/);
      return true;
    });
    const saved = process.env.TSBUILD_ZSTD;
    process.env.TSBUILD_ZSTD = '/nonexistent/zstd';
    try {
      await assert.rejects(through(data, createZstdCompress(3)), (err: Error & { code?: string; hint?: string }) => {
        assert.equal(err.code, 'TSB_TOOL_MISSING');
        assert.match(err.hint ?? '', /apt-get install zstd/);
        return true;
      });
    } finally {
      if (saved === undefined) delete process.env.TSBUILD_ZSTD;
      else process.env.TSBUILD_ZSTD = saved;
    }
  });

  test('--layer-compression values', () => {
    assert.deepEqual(parseLayerCompression('gzip'), { format: 'gzip' });
    assert.deepEqual(parseLayerCompression('zstd'), { format: 'zstd', level: 3 });
    assert.deepEqual(parseLayerCompression('ZSTD:19'), { format: 'zstd', level: 19 });
    for (const bad of ['zstd:0', 'zstd:20', 'gzip:1', 'lz4', 'zstd:']) assert.throws(() => parseLayerCompression(bad), { code: 'TSB_USAGE' }, bad);
  });
});
