// Worker entry for the parallel gzip: raw-deflates one block with the previous 32 KiB as dictionary.
// Non-final blocks end with a sync flush (byte-aligned, no final bit) so blocks concatenate into
// one deflate stream, as pigz does.
import { parentPort } from 'node:worker_threads';
import { DeflateRaw, constants, deflateRawSync, type ZlibOptions } from 'node:zlib';
import { DEFLATE_WINDOW as WINDOW, outputRoom } from './deflate-bound.js';

export interface GzipJob {
  id: number;
  data: Uint8Array;
  dict: Uint8Array | undefined;
  level: number;
  final: boolean;
  /** Store the block (level 0) when a level-1 probe of its first 64 KiB saves less than 5 %. */
  adaptive: boolean;
  /** Memory to write the output into (handed back by the parent once written), if it fits. */
  out?: ArrayBuffer | undefined;
}

/**
 * Node's zlib engine internals that deflateRawSync drives (lib/zlib.js processChunkSync): the
 * native handle's writeSync(flush, in, inOff, inLen, out, outOff, outLen) and the state array it
 * reports [availOutAfter, availInAfter] in. Checked before use; absent, the public call is used.
 */
type Engine = DeflateRaw & {
  _handle?: { writeSync?: (flush: number, input: Uint8Array, inOff: number, inLen: number, out: Uint8Array, outOff: number, outLen: number) => void };
  _writeState?: Uint32Array;
};

const MEM_LEVEL = 8;
const PROBE = 64 * 1024;
/** The probe's output goes here every time (it is only measured). */
const probeRoom = new Uint8Array(outputRoom(PROBE));
export function deflateBlock(job: Omit<GzipJob, 'id'>): Buffer {
  let level = job.level;
  if (job.adaptive && job.data.length > 0) {
    const probe = job.data.subarray(0, Math.min(PROBE, job.data.length));
    const opts: ZlibOptions = { level: 1, memLevel: MEM_LEVEL };
    const probed = deflateInto(probe, opts, constants.Z_FINISH, probeRoom) ?? deflateRawSync(probe, opts);
    if (probed.length > probe.length * 0.95) level = 0;
  }
  const flush = job.final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH;
  const opts: ZlibOptions = { level, memLevel: MEM_LEVEL, finishFlush: flush };
  if (job.dict && job.dict.length > 0) opts.dictionary = job.dict;
  if (job.out && job.out.byteLength >= outputRoom(job.data.length)) {
    const out = deflateInto(job.data, opts, flush, new Uint8Array(job.out));
    if (out) return out;
  }
  return deflateRawSync(job.data, opts);
}

/**
 * What deflateRawSync does, writing into `out` instead of fresh 16 KiB buffers that are then
 * concatenated (garbage worth twice the block per job): the same calls with the same 16 KiB of
 * output room each, so the bytes are identical.
 */
function deflateInto(data: Uint8Array, opts: ZlibOptions, flush: number, out: Uint8Array): Buffer | undefined {
  // chunkSize 64: the engine's own output buffer is never used; the smallest comes from the Buffer pool.
  const engine = new DeflateRaw({ ...opts, chunkSize: 64 }) as Engine;
  const write = engine._handle?.writeSync;
  const state = engine._writeState;
  if (typeof write !== 'function' || !(state instanceof Uint32Array)) {
    engine.close();
    return undefined;
  }
  let error: Error | undefined;
  engine.on('error', (err: Error) => (error = err));
  try {
    let inOff = 0;
    let inLen = data.length;
    let outOff = 0;
    for (;;) {
      if (outOff + WINDOW > out.length) throw new Error('deflate output larger than its bound');
      write.call(engine._handle, flush, data, inOff, inLen, out, outOff, WINDOW);
      if (error) throw error;
      const [availOut, availIn] = [state[0]!, state[1]!];
      inOff += inLen - availIn;
      inLen = availIn;
      outOff += WINDOW - availOut;
      if (availOut !== 0) break;
    }
    return Buffer.from(out.buffer, out.byteOffset, outOff);
  } finally {
    engine.close();
  }
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: GzipJob) => {
    try {
      const out = deflateBlock(job);
      // Output and input memory both move back to the parent (nothing left to collect here); the
      // parent reuses them for later blocks. Output zlib allocated itself is copied into memory of
      // its own first (a small Buffer may sit in the shared pool, which must never be transferred).
      const own = job.out !== undefined && out.buffer === job.out;
      const ab = own ? job.out! : (new Uint8Array(out).buffer as ArrayBuffer);
      const off = own ? out.byteOffset : 0;
      const input = job.data.buffer as ArrayBuffer;
      const spare = job.out && !own ? job.out : undefined;
      const dict = job.dict && job.dict.byteLength > 0 ? (job.dict.buffer as ArrayBuffer) : undefined;
      const transfer = [ab, ...(input !== ab ? [input] : []), ...(spare ? [spare] : []), ...(dict && dict !== input ? [dict] : [])];
      port.postMessage({ id: job.id, buf: ab, off, len: out.length, input, spare, dict }, transfer);
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message });
    }
  });
}
