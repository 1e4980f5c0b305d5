import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { createLayerGzip, type GzipMode } from './compress.js';
import { GzipPool } from './gzip-pool.js';
import { deflateBlock } from './gzip-worker.js';
import { outputRoom } from './deflate-bound.js';
import { tempDir } from '../../test/support/tree-fixtures.js';

const pools: GzipPool[] = [];
after(async () => {
  for (const p of pools) await p.close();
});

function pool(n: number): GzipPool {
  const p = new GzipPool(n);
  pools.push(p);
  return p;
}

async function compress(input: Buffer, opts: { mode?: GzipMode; pool?: GzipPool; chunk?: number } = {}): Promise<Buffer> {
  const out: Buffer[] = [];
  const chunk = opts.chunk ?? 300_000;
  const parts: Buffer[] = [];
  for (let i = 0; i < input.length; i += chunk) parts.push(input.subarray(i, i + chunk));
  const gzOpts: Parameters<typeof createLayerGzip>[0] = { mode: opts.mode ?? 'parallel' };
  if (opts.pool) gzOpts.pool = opts.pool;
  await pipeline(
    Readable.from(parts),
    createLayerGzip(gzOpts),
    new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c);
        cb();
      },
    }),
  );
  return Buffer.concat(out);
}

/** Text-like data that compresses, with some random runs. */
function sample(size: number): Buffer {
  const words = ['layer', 'tar', 'gzip', 'overlay', 'whiteout', '\n', 'digest ', 'sha256:', '{"a":1}'];
  const parts: Buffer[] = [];
  let n = 0;
  let i = 0;
  while (n < size) {
    const b = i % 97 === 0 ? randomBytes(700) : Buffer.from(words[(i * 7 + (i >> 3)) % words.length]!);
    parts.push(b);
    n += b.length;
    i++;
  }
  return Buffer.concat(parts).subarray(0, size);
}

test('parallel gzip is one valid member that gzip -t and gunzip read back exactly', async () => {
  const t = tempDir('pgzip');
  try {
    const input = sample(5 * 1024 * 1024 + 12345);
    const gz = await compress(input, { pool: pool(2) });
    assert.deepEqual(gunzipSync(gz), input);
    const f = join(t.path, 'x.gz');
    writeFileSync(f, gz);
    execFileSync('gzip', ['-t', f]);
    assert.deepEqual(execFileSync('gunzip', ['-c', f], { maxBuffer: 64 << 20 }), input);
    // `gzip -l` reports the true size only for a single member.
    assert.match(execFileSync('gzip', ['-l', f], { encoding: 'utf8' }), new RegExp(`\\s${input.length}\\s`));
  } finally {
    t.cleanup();
  }
});

test('output bytes do not depend on the number of workers or on input chunking', async () => {
  const input = sample(3 * 1024 * 1024 + 7);
  const a = await compress(input, { pool: pool(1), chunk: 65536 });
  const b = await compress(input, { pool: pool(2), chunk: 1 << 20 });
  const c = await compress(input, { pool: pool(3), chunk: 4_000_000 });
  assert.deepEqual(b, a);
  assert.deepEqual(c, a);
  const single = await compress(input, { mode: 'single' });
  assert.deepEqual(gunzipSync(single), input);
  assert.ok(Math.abs(a.length - single.length) / single.length < 0.01, `parallel ${a.length} vs single ${single.length}`);
});

test('empty input and exact block multiples give valid gzip', async () => {
  assert.deepEqual(gunzipSync(await compress(Buffer.alloc(0))), Buffer.alloc(0));
  const two = sample(2 << 20);
  assert.deepEqual(gunzipSync(await compress(two, { chunk: 1 << 20 })), two);
});

test('adaptive mode stores incompressible blocks and still round-trips', async () => {
  const random = randomBytes(3 << 20);
  const text = sample(2 << 20);
  const input = Buffer.concat([text, random, text]);
  const adaptive = await compress(input, { mode: 'adaptive' });
  assert.deepEqual(gunzipSync(adaptive), input);
  const plain = await compress(input);
  assert.ok(adaptive.length <= plain.length * 1.01);
});

test('Go reads the parallel gzip as one member (Multistream(false)) with the same sha256', async () => {
  const t = tempDir('pgzip-go');
  try {
    const input = sample(3 << 20);
    const f = join(t.path, 'x.gz');
    writeFileSync(f, await compress(input));
    writeFileSync(
      join(t.path, 'main.go'),
      `package main

import (
	"compress/gzip"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
)

func main() {
	f, err := os.Open(os.Args[1])
	if err != nil {
		panic(err)
	}
	r, err := gzip.NewReader(f)
	if err != nil {
		panic(err)
	}
	r.Multistream(false)
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		panic(err)
	}
	fmt.Printf("%x", h.Sum(nil))
}
`,
    );
    const out = execFileSync('go', ['run', join(t.path, 'main.go'), f], { encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod', GO111MODULE: 'off' } });
    assert.equal(out.trim(), createHash('sha256').update(input).digest('hex'));
    assert.ok(readFileSync(f).length > 0);
  } finally {
    t.cleanup();
  }
});

test('deflating into a recycled buffer gives the bytes of deflateRawSync (the layer format) for stored and compressed blocks', () => {
  const text = Buffer.from('layer text compresses '.repeat(60_000)).subarray(0, 1 << 20);
  const random = randomBytes(1 << 20);
  const mixed = Buffer.concat([random.subarray(0, 700_000), text.subarray(0, (1 << 20) - 700_000)]);
  const dict = randomBytes(32 * 1024);
  for (const data of [text, random, mixed, random.subarray(0, 5000), Buffer.alloc(0)]) {
    for (const level of [0, 6]) {
      for (const final of [false, true]) {
        for (const d of [undefined, dict]) {
          const job = { data, dict: d, level, final, adaptive: false };
          const plain = deflateBlock(job);
          const out = new ArrayBuffer(outputRoom(data.length));
          const into = deflateBlock({ ...job, out });
          assert.ok(into.equals(plain), `level ${level} final ${final} dict ${!!d} size ${data.length}`);
          assert.equal(into.buffer, out, 'written into the given buffer');
        }
      }
    }
  }
});

test('the layer writer threads, warmed and idle, do not keep a process alive', () => {
  const layer = new URL('./index.js', import.meta.url).href;
  // A process that only warms them must end by itself (the time limit is a hang guard, not a speed bar).
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', `import { warmLayerWriter } from ${JSON.stringify(layer)}; warmLayerWriter();`], {
    timeout: 120_000,
    encoding: 'utf8',
  });
  assert.equal(res.signal, null, 'still running: a warmed worker keeps the event loop alive');
  assert.equal(res.status, 0, res.stderr);
});
