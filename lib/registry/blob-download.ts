// Blob GET streamed into the LayoutStore: hashed while written, committed only if digest and size
// match (so nothing is stored on a mismatch). A connection that dies midway is resumed with a
// Range request, accepted only as a 206 starting exactly where we stopped (containers/image's rule).
import type { Readable } from 'node:stream';
import type { WriteStream } from 'node:fs';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import type { BlobInfo, LayoutStore } from '../content/index.js';
import type { Descriptor } from '../oci/index.js';
import { closeBody } from './http-body.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { abortedError, backoffDelay, isRetryableNetworkError, sleep } from './retry-policy.js';
import type { RepositoryRef, TransferProgress } from './transfer-types.js';

export interface GetBlobOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
}

function writeChunk(stream: WriteStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    stream.once('error', onError);
    const ok = stream.write(chunk);
    if (ok) {
      stream.off('error', onError);
      resolve();
    } else {
      stream.once('drain', () => {
        stream.off('error', onError);
        resolve();
      });
    }
  });
}

/** Whether `Content-Range: bytes START-END/TOTAL` continues exactly at `offset` and runs to the end. */
function acceptableContentRange(header: string | string[] | undefined, offset: number, size: number): boolean {
  const v = Array.isArray(header) ? header[0] : header;
  const m = v ? /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(v.trim()) : null;
  if (!m) return false;
  return Number(m[1]) === offset && Number(m[2]) === size - 1 && (m[3] === '*' || Number(m[3]) === size);
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
        okStatuses: resuming ? [200, 206] : [200],
        signal,
      });
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
        for await (const chunk of res.body as Readable & AsyncIterable<Buffer>) {
          offset += chunk.length;
          if (offset > desc.size) {
            closeBody(res.body);
            throw new TsbuildError('TSB_SIZE_MISMATCH', `${what}: the registry sent more than the ${desc.size} bytes the descriptor declares; nothing was stored`);
          }
          await writeChunk(writer.stream, chunk);
          progress(offset, 'transferring');
        }
      } catch (err) {
        if (signal?.aborted) throw abortedError(signal);
        if (err instanceof TsbuildError || !isRetryableNetworkError(err)) throw err;
        failures++;
        if (failures >= client.retryPolicy.attempts) {
          throw new RegistryError({ method: 'GET', url: res.url, registry: repo.registry, message: `connection lost after ${offset} of ${desc.size} bytes`, cause: err });
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
    progress(desc.size, 'done');
    return info;
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
