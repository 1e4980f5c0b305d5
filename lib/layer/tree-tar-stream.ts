// Runs writeTreeTar in a worker thread and exposes its output as a Readable (constant memory).
// Chunks are recyclable (internal/recyclable-buffer.ts): a consumer done with one hands its memory
// back to the worker to be filled again. One idle worker is kept between layers (unref'd): starting
// a worker and loading its modules cost about as much as packing a small stage layer.
import { MessageChannel, Worker } from 'node:worker_threads';
import { recyclable } from '../internal/recyclable-buffer.js';
import { Readable } from 'node:stream';
import type { TreeTarOptions, TreeTarStats } from './tree-tar.js';
import { fromWire, type WireError } from './worker-error.js';
import type { PackJob } from './pack-worker.js';
import type { Digest } from '../digest.js';

const IN_FLIGHT = 4;

/** What the worker reports at the end: the walk's stats, the tar's size and its sha256. */
export type TreeTarResult = TreeTarStats & { bytes: number; digest: Digest };

export interface TreeTarStream extends Readable {
  /** Resolves when the worker finished (after the last chunk was pushed). */
  readonly result: Promise<TreeTarResult>;
}

type Msg =
  | { t: 'chunk'; buf: ArrayBuffer; off: number; len: number }
  | { t: 'done'; stats: TreeTarStats; bytes: number; digest: Digest }
  | { t: 'error'; error: WireError };

let idle: Worker | undefined;

function spawnPackWorker(): Worker {
  const w = new Worker(new URL('./pack-worker.js', import.meta.url), { execArgv: [] });
  // An idle worker that fails or exits is simply not reused; a busy one's stream reports it.
  const forget = (): void => {
    if (idle === w) idle = undefined;
  };
  w.on('error', forget);
  w.on('exit', forget);
  return w;
}

/** Start the pack worker now (it loads while a stage runs), unless one is idle already. */
export function warmPackWorker(): void {
  if (idle) return;
  idle = spawnPackWorker();
  idle.unref();
}

function takeWorker(): Worker {
  const w = idle ?? spawnPackWorker();
  idle = undefined;
  w.ref();
  return w;
}

function releaseWorker(w: Worker): void {
  if (idle) {
    void w.terminate();
    return;
  }
  w.unref();
  idle = w;
}

export function treeTarStream(options: TreeTarOptions): TreeTarStream {
  const control = new SharedArrayBuffer(8);
  const ctl = new Int32Array(control);
  Atomics.store(ctl, 0, IN_FLIGHT);
  let owed = 0;
  const grant = (): void => {
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
  };
  let resolveResult!: (v: TreeTarResult) => void;
  let rejectResult!: (e: Error) => void;
  const result = new Promise<TreeTarResult>((res, rej) => {
    resolveResult = res;
    rejectResult = rej;
  });
  result.catch(() => undefined); // the stream reports the error too
  let finished = false;

  const stream = new Readable({
    highWaterMark: 1 << 20,
    read() {
      while (owed > 0) {
        owed--;
        grant();
      }
    },
    destroy(err, cb) {
      if (!finished) {
        Atomics.store(ctl, 1, 1);
        Atomics.notify(ctl, 0);
        detach();
        void worker.terminate();
        rejectResult(err ?? new Error('tar stream destroyed'));
      }
      cb(err);
    },
  }) as TreeTarStream;
  Object.defineProperty(stream, 'result', { value: result });

  const { port1, port2 } = new MessageChannel();
  port1.unref();
  // At most one buffer goes back per chunk received, so the queue stays within the chunks in flight.
  const giveBack = (c: Buffer): void => {
    if (!finished) port1.postMessage(c.buffer, [c.buffer as ArrayBuffer]);
  };
  const worker = takeWorker();
  const closePort = (): void => port1.close();
  void result.then(closePort, closePort);
  const onMessage = (m: Msg): void => {
    if (m.t === 'chunk') {
      const chunk = Buffer.from(m.buf, m.off, m.len);
      if (m.off === 0 && m.len === m.buf.byteLength) recyclable(chunk, giveBack);
      if (stream.push(chunk)) grant();
      else owed++;
    } else if (m.t === 'done') {
      finished = true;
      detach();
      releaseWorker(worker);
      stream.push(null);
      resolveResult({ ...m.stats, bytes: m.bytes, digest: m.digest });
    } else {
      // The job failed; the worker is back in its event loop and can take the next one.
      finished = true;
      detach();
      releaseWorker(worker);
      const err = fromWire(m.error, `archiving ${options.root}`);
      rejectResult(err);
      stream.destroy(err);
    }
  };
  const onError = (err: Error): void => {
    if (finished) return;
    finished = true;
    detach();
    rejectResult(err);
    stream.destroy(err);
  };
  const onExit = (code: number): void => {
    if (!finished) {
      finished = true;
      detach();
      const err = new Error(`tar worker exited with code ${code} before finishing`);
      rejectResult(err);
      stream.destroy(err);
    }
  };
  function detach(): void {
    worker.off('message', onMessage);
    worker.off('error', onError);
    worker.off('exit', onExit);
  }
  worker.on('message', onMessage);
  worker.on('error', onError);
  worker.on('exit', onExit);
  worker.postMessage({ options, control, recycle: port2 } satisfies PackJob, [port2]);
  return stream;
}
