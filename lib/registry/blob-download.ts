// Blob GET streamed into the LayoutStore: hashed while written, committed only if digest and size
// match (so nothing is stored on a mismatch). A connection that dies midway is resumed with a
// Range request, accepted only as a 206 starting exactly where we stopped (containers/image's rule).
import { finished, type Readable } from 'node:stream';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import type { BlobInfo, LayoutStore } from '../content/index.js';
import type { Descriptor } from '../oci/index.js';
import { closeBody } from './http-body.js';
import { BODY_TIMEOUT } from './http-transport.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError, bodyError } from './registry-error.js';
import { abortedError, backoffDelay, isRetryableNetworkError, sleep } from './retry-policy.js';
import type { RepositoryRef, TransferProgress } from './transfer-types.js';

export interface GetBlobOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
}

/**
 * Feed a body to `write` chunk by chunk in flowing mode, pausing while a write waits. Unlike
 * `for await`, this never concatenates buffered chunks into new buffers (Readable#read() does),
 * which measured ~10% less CPU on a 280 MB pull.
 */
function pumpBody(body: Readable, write: (chunk: Buffer) => Promise<void> | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      body.off('data', onData);
      reject(err);
    };
    const onData = (chunk: Buffer): void => {
      let wait: Promise<void> | undefined;
      try {
        wait = write(chunk);
      } catch (err) {
        fail(err);
        return;
      }
      if (wait) {
        body.pause();
        wait.then(() => {
          if (!failed) body.resume();
        }, fail);
      }
    };
    body.on('data', onData);
    // finished() also reports a body that failed (or was destroyed) before we got here, which a
    // listener for 'error' and 'end' would wait for forever.
    finished(body, (err) => {
      if (err) fail(err);
      else if (!failed) resolve();
    });
  });
}

/** Whether `Content-Range: bytes START-END/TOTAL` continues exactly at `offset` and runs to the end. */
function acceptableContentRange(header: string | string[] | undefined, offset: number, size: number): boolean {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return false;
  return Number(m[1]) === offset && Number(m[2]) === size - 1 && (m[3] === '*' || Number(m[3]) === size);
}

function isStall(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 4; depth++, e = (e as { cause?: unknown }).cause) {
    if ((e as { code?: unknown }).code === BODY_TIMEOUT) return true;
  }
  return false;
}

/** Download a blob into the store, verified against the descriptor's digest and size. */
export async function getBlob(
  client: RegistryClient,
  repo: RepositoryRef,
  desc: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string },
  store: LayoutStore,
  options: GetBlobOptions = {},
): Promise<BlobInfo> {
  const { signal, onProgress } = options;
  const what = `blob ${desc.digest} from ${repo.registry}/${repo.repository}`;
  const progress = (bytes: number, phase: TransferProgress['phase']): void =>
    onProgress?.({ digest: desc.digest, mediaType: desc.mediaType ?? '', phase, bytes, total: desc.size });
  let writer = await store.createWriter();
  let offset = 0;
  let failures = 0;
  // Stalls (no byte for the client's idle timeout) are counted apart from resets: a server that
  // hangs at the same point every time must end in an error, not in attempts × timeout of silence.
  let stalls = 0;
  try {
    for (;;) {
      if (signal?.aborted) throw abortedError(signal);
      const resuming = offset > 0;
      const res = await client.send({
        method: 'GET',
        registry: repo.registry,
        repository: repo.repository,
        path: `blobs/${desc.digest}`,
        headers: resuming ? { range: `bytes=${offset}-` } : {},
        actions: ['pull'],
        okStatuses: resuming ? [200, 206, 416] : [200],
        signal,
      });
      if (res.status === 416) {
        // Nothing left from where we stopped: the blob is shorter than its descriptor says.
        closeBody(res.body);
        throw new TsbuildError(
          'TSB_SIZE_MISMATCH',
          `${what}: the registry has only ${offset} of the ${desc.size} bytes the descriptor declares; nothing was stored`,
        );
      }
      if (resuming && !(res.status === 206 && acceptableContentRange(res.headers['content-range'], offset, desc.size))) {
        // The server ignored or botched the Range: start over rather than append misaligned bytes.
        await writer.abort();
        writer = await store.createWriter();
        offset = 0;
        if (res.status !== 200) {
          closeBody(res.body);
          continue;
        }
      }
      progress(offset, 'transferring');
      try {
        const w = writer;
        await pumpBody(res.body, (chunk) => {
          offset += chunk.length;
          if (offset > desc.size) {
            closeBody(res.body);
            throw new TsbuildError(
              'TSB_SIZE_MISMATCH',
              `${what}: the registry sent more than the ${desc.size} bytes the descriptor declares; nothing was stored`,
            );
          }
          w.append(chunk);
          progress(offset, 'transferring');
          return undefined;
        });
      } catch (err) {
        if (signal?.aborted) throw abortedError(signal);
        if (err instanceof TsbuildError) throw err;
        if (!isRetryableNetworkError(err)) {
          throw bodyError({
            method: 'GET',
            url: res.url,
            registry: repo.registry,
            what: `${what} (at ${offset} of ${desc.size} bytes; nothing was stored)`,
            cause: err,
            retryable: false,
          });
        }
        if (isStall(err)) {
          stalls++;
          if (stalls > client.maxStallResumes) {
            const seconds = client.idleTimeoutMs / 1000;
            throw new RegistryError({
              method: 'GET',
              url: res.url,
              registry: repo.registry,
              message: `${what} stalled: no data for ${seconds} s at ${offset} of ${desc.size} bytes, ${stalls} times (resumed ${stalls - 1}); nothing was stored`,
              hint: `the registry stopped sending; retry later, or raise the no-progress deadline with TSBUILD_TRANSFER_TIMEOUT=SECONDS (now ${seconds}) / TSBUILD_TRANSFER_RESUMES=N (now ${client.maxStallResumes})`,
              cause: err,
            });
          }
          continue;
        }
        failures++;
        if (failures >= client.retryPolicy.attempts) {
          throw new RegistryError({
            method: 'GET',
            url: res.url,
            registry: repo.registry,
            message: `connection lost after ${offset} of ${desc.size} bytes`,
            cause: err,
          });
        }
        await sleep(backoffDelay(client.retryPolicy, failures - 1), signal);
        continue;
      }
      if (offset < desc.size) {
        // A clean end before the declared size: treat like a dropped connection and resume.
        failures++;
        if (failures >= client.retryPolicy.attempts) {
          throw new TsbuildError('TSB_SIZE_MISMATCH', `${what}: got ${offset} of ${desc.size} bytes; nothing was stored`);
        }
        continue;
      }
      break;
    }
    let info: BlobInfo;
    try {
      info = await writer.commit({ digest: desc.digest, size: desc.size });
    } catch (err) {
      if (err instanceof DigestMismatchError) throw new DigestMismatchError(what, err.expected, err.actual);
      throw err;
    }
    client.blobInfo.record(desc.digest, repo);
    progress(desc.size, 'done');
    return info;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
