// Worker entry for the parallel gzip: raw-deflates one block with the previous 32 KiB as dictionary.
// Non-final blocks end with a sync flush (byte-aligned, no final bit) so blocks concatenate into
// one deflate stream, as pigz does.
import { parentPort } from 'node:worker_threads';
import { constants, deflateRawSync } from 'node:zlib';

export interface GzipJob {
  id: number;
  /** `data` owns its whole ArrayBuffer, was transferred, and is transferred back with the reply for reuse. */
  owned?: boolean;
  data: Uint8Array;
  dict: Uint8Array | undefined;
  level: number;
  final: boolean;
  /** Store the block (level 0) when a level-1 probe of its first 64 KiB saves less than 5 %. */
  adaptive: boolean;
}

const MEM_LEVEL = 8;
const PROBE = 64 * 1024;

export function deflateBlock(job: Omit<GzipJob, 'id'>): Buffer {
  let level = job.level;
  if (job.adaptive && job.data.length > 0) {
    const probe = job.data.subarray(0, Math.min(PROBE, job.data.length));
    const probed = deflateRawSync(probe, { level: 1, memLevel: MEM_LEVEL });
    if (probed.length > probe.length * 0.95) level = 0;
  }
  const opts: import('node:zlib').ZlibOptions = {
    level,
    memLevel: MEM_LEVEL,
    finishFlush: job.final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
  };
  if (job.dict && job.dict.length > 0) opts.dictionary = job.dict;
  return deflateRawSync(job.data, opts);
}

if (parentPort) {
  const port = parentPort;
  port.on('message', (job: GzipJob) => {
    try {
      const out = deflateBlock(job);
      const ab = out.buffer.byteLength === out.length ? out.buffer : out.buffer.slice(out.byteOffset, out.byteOffset + out.length);
      const off = out.buffer.byteLength === out.length ? out.byteOffset : 0;
      // An owned input goes back to the parent's free list instead of becoming garbage here: a worker
      // allocates almost nothing on its own heap, so V8 collects its dead 1 MiB buffers only after
      // tens of MB of them pile up (measured ~45 MB of RSS per gzip worker).
      const input = job.owned ? (job.data.buffer as ArrayBuffer) : undefined;
      port.postMessage({ id: job.id, buf: ab, off, len: out.length, input }, input ? [ab as ArrayBuffer, input] : [ab as ArrayBuffer]);
    } catch (err) {
      port.postMessage({ id: job.id, error: (err as Error).message });
    }
  });
}
