// Worker entry for unpackLayer: parses the uncompressed tar chunks the parent sends and applies
// them with synchronous fs calls; acknowledges each chunk so the parent can keep a bounded window.
import { parentPort, workerData } from 'node:worker_threads';
import { LayerApplier, type ApplyOptions } from './tar-apply.js';
import { TarParser, type TarReadLimits } from './tar-reader.js';
import { toWire } from './worker-error.js';

interface UnpackWorkerData {
  apply: Omit<ApplyOptions, 'warning'>;
  limits: TarReadLimits;
}

type In = { t: 'chunk'; buf: ArrayBuffer; off: number; len: number } | { t: 'end' };

const port = parentPort!;
const { apply, limits } = workerData as UnpackWorkerData;
const applier = new LayerApplier({ ...apply, warning: (message) => port.postMessage({ t: 'warning', message }) });
const parser = new TarParser(applier, limits);
let failed = false;

port.on('message', (m: In) => {
  if (failed) return;
  try {
    if (m.t === 'chunk') {
      parser.push(Buffer.from(m.buf, m.off, m.len));
      port.postMessage({ t: 'ack' });
    } else {
      parser.end();
      applier.finish();
      port.postMessage({
        t: 'done',
        entries: parser.entries,
        ended: parser.ended,
        implicitDirs: [...applier.implicitDirs],
        dependsOnParents: applier.dependsOnParents,
      });
    }
  } catch (err) {
    failed = true;
    try {
      applier.abort();
    } catch {
      // the original error matters more
    }
    port.postMessage({ t: 'error', error: toWire(err) });
  }
});
