// A small process-wide pool of gzip workers (one per core, at most 2 by default). Idle workers are
// unref'd so they never keep the process alive; they are ref'd while a job is in flight.
import { Worker } from 'node:worker_threads';
import { availableParallelism } from 'node:os';
import { TsbuildError } from '../errors.js';
import type { GzipJob } from './gzip-worker.js';

interface Slot {
  worker: Worker;
  busy: number;
}

type Reply =
  | { id: number; buf: ArrayBuffer; off: number; len: number; input?: ArrayBuffer; spare?: ArrayBuffer; dict?: ArrayBuffer }
  | { id: number; error: string };

export interface GzipResult {
  out: Buffer;
  /** The job's input memory, handed back when it was transferred (see run's `transfer`). */
  input: ArrayBuffer | undefined;
  /** job.out when the output did not go into it. */
  spare: ArrayBuffer | undefined;
  /** The dictionary's memory, when it was transferred. */
  dict: ArrayBuffer | undefined;
}

export class GzipPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, { resolve: (b: GzipResult) => void; reject: (e: Error) => void; slot: Slot }>();
  private nextId = 1;
  readonly size: number;

  constructor(size: number) {
    this.size = Math.max(1, size);
  }

  /**
   * Compress one block. With `transfer`, job.data must span its whole ArrayBuffer, which moves to
   * the worker (no copy) and comes back in the result for reuse; the caller must not touch it meanwhile.
   * job.out (always moved) is memory for the output: the result's `out` lies in it, or it comes back as `spare`.
   * With `transfer`, a whole job.dict moves as well and comes back as `dict`.
   */
  run(job: Omit<GzipJob, 'id'>, options: { transfer?: boolean } = {}): Promise<GzipResult> {
    const slot = this.pick();
    const id = this.nextId++;
    const transfer = options.transfer === true && isWhole(job.data);
    return new Promise<GzipResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, slot });
      if (slot.busy++ === 0) slot.worker.ref();
      // Structured clone copies a view's whole ArrayBuffer: send exact-size copies of slices.
      const data = transfer ? job.data : exact(job.data);
      // A whole dictionary moves too (with `transfer`); a slice is copied.
      const dict = job.dict && (transfer && isWhole(job.dict) ? job.dict : exact(job.dict));
      const list = [
        ...(transfer ? [data.buffer as ArrayBuffer] : []),
        ...(dict && transfer && dict === job.dict ? [dict.buffer as ArrayBuffer] : []),
        ...(job.out ? [job.out] : []),
      ];
      slot.worker.postMessage({ ...job, data, dict, id } satisfies GzipJob, list);
    });
  }

  /** Start every worker now (unref'd, so they never keep the process alive) instead of on first use. */
  warm(): void {
    while (this.slots.length < this.size) this.spawn();
  }

  async close(): Promise<void> {
    const slots = this.slots.splice(0);
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pick(): Slot {
    if (this.slots.length < this.size) {
      const least = this.slots.find((s) => s.busy === 0);
      if (least) return least;
      return this.spawn();
    }
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.busy < best.busy) best = s;
    return best;
  }

  private spawn(): Slot {
    const worker = new Worker(new URL('./gzip-worker.js', import.meta.url), { execArgv: [] });
    const slot: Slot = { worker, busy: 0 };
    worker.on('message', (r: Reply) => {
      const p = this.pending.get(r.id);
      if (!p) return;
      this.pending.delete(r.id);
      if (--slot.busy === 0) worker.unref();
      if ('error' in r) p.reject(new TsbuildError('TSB_INTERNAL', `gzip worker failed: ${r.error}`));
      else p.resolve({ out: Buffer.from(r.buf, r.off, r.len), input: r.input, spare: r.spare, dict: r.dict });
    });
    const fail = (err: Error): void => {
      const i = this.slots.indexOf(slot);
      if (i >= 0) this.slots.splice(i, 1);
      for (const [id, p] of this.pending) {
        if (p.slot !== slot) continue;
        this.pending.delete(id);
        p.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new TsbuildError('TSB_INTERNAL', `gzip worker exited with code ${code}`)));
    // After the listeners: in Node 20 a 'message' listener added to an unref'd worker refs it again,
    // and a warmed pool would keep the process alive.
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}

function isWhole(v: Uint8Array): boolean {
  return v.byteOffset === 0 && v.byteLength === v.buffer.byteLength;
}

function exact(v: Uint8Array): Uint8Array {
  return isWhole(v) ? v : v.slice();
}

let shared: GzipPool | undefined;

/** The process-wide pool: min(2, cores) workers unless TSBUILD_GZIP_WORKERS says otherwise. */
export function gzipPool(): GzipPool {
  const env = Number(process.env.TSBUILD_GZIP_WORKERS);
  shared ??= new GzipPool(Number.isInteger(env) && env > 0 ? env : Math.min(2, availableParallelism()));
  return shared;
}
