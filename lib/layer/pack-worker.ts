// Worker entry: writes a directory tree as tar and streams 1 MiB chunks to the parent. Flow control
// is a credit counter in shared memory: the parent adds credits as it consumes, the worker blocks
// (Atomics.wait) at zero, so at most a few chunks are ever in flight. Chunks the parent is done
// with come back on `recycle` and are filled again (read synchronously: this thread never returns
// to its event loop until the tree is written). The worker takes one job after another, so a build
// pays its start-up once (tree-tar-stream.ts keeps it between layers). It also hashes the tar (the
// layer's diffId), which would otherwise be the main thread's largest piece of work per byte.
import { createHash } from 'node:crypto';
import { parentPort, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { TarChunker } from './tar-writer.js';
import { writeTreeTar, type TreeTarOptions } from './tree-tar.js';
import { toWire } from './worker-error.js';

export interface PackJob {
  options: TreeTarOptions;
  /** Int32Array over it: [0] credits, [1] abort flag. */
  control: SharedArrayBuffer;
  recycle: MessagePort;
}

const port = parentPort!;

class Aborted extends Error {}

function run({ options, control, recycle }: PackJob): void {
  const ctl = new Int32Array(control);
  const hash = createHash('sha256');
  const emit = (chunk: Buffer): void => {
    for (;;) {
      if (Atomics.load(ctl, 1) !== 0) throw new Aborted('aborted');
      const c = Atomics.load(ctl, 0);
      if (c > 0) {
        if (Atomics.compareExchange(ctl, 0, c, c - 1) === c) break;
        continue;
      }
      Atomics.wait(ctl, 0, 0, 1000);
    }
    hash.update(chunk);
    const ab = chunk.buffer as ArrayBuffer;
    port.postMessage({ t: 'chunk', buf: ab, off: chunk.byteOffset, len: chunk.length }, [ab]);
  };
  try {
    const out = new TarChunker(emit, 1 << 20, () => receiveMessageOnPort(recycle)?.message as ArrayBuffer | undefined);
    const stats = writeTreeTar(options, out);
    out.finish();
    port.postMessage({ t: 'done', stats, bytes: out.total, digest: `sha256:${hash.digest('hex')}` });
  } catch (err) {
    if (!(err instanceof Aborted)) port.postMessage({ t: 'error', error: toWire(err) });
  } finally {
    recycle.close();
  }
}

port.on('message', run);
