// Blob existence checks and uploads: cross-repo mount when source repositories are known, POST then
// one monolithic PUT for small blobs, PATCH chunks then a closing PUT for large ones. A failed
// session is abandoned and a new one started (a consumed body is never re-sent; the store re-opens it).
import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import { closeBody } from './http-body.js';
import type { RegistryClient, RegistryResponse } from './registry-client.js';
import { repositoryScope } from './registry-auth.js';
import { RegistryError } from './registry-error.js';
import { abortedError, backoffDelay, sleep } from './retry-policy.js';
import type { RepositoryRef, TransferProgress } from './transfer-types.js';

export interface BlobExistsOptions {
  signal?: AbortSignal | undefined;
  /** When given, a HEAD answering another Content-Length counts as absent (B15). */
  size?: number;
}

export async function blobExists(client: RegistryClient, repo: RepositoryRef, digest: Digest, options: BlobExistsOptions = {}): Promise<boolean> {
  const res = await client.send({
    method: 'HEAD',
    registry: repo.registry,
    repository: repo.repository,
    path: `blobs/${digest}`,
    actions: ['pull'],
    okStatuses: [200, 404],
    signal: options.signal,
  });
  closeBody(res.body);
  if (res.status === 404) return false;
  const len = res.headers['content-length'];
  if (options.size !== undefined && len !== undefined && Number(len) !== options.size) return false;
  return true;
}

export interface UploadBlobOptions {
  signal?: AbortSignal | undefined;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  /**
   * Other repositories of the same registry that may hold the blob: `?mount=&from=` is tried with
   * each, in order, before uploading (mounts that fail are reported through onMountFailed).
   */
  mountFrom?: string | readonly string[] | undefined;
  onMountFailed?: ((from: string) => void) | undefined;
  /** Blobs up to this size go in one PUT (default 32 MiB); larger ones in PATCH chunks. */
  monolithicMaxBytes?: number;
  /** PATCH chunk size (default 128 MiB). */
  chunkBytes?: number;
}

/** Opens the blob's bytes [start, end] (inclusive) afresh for every attempt. */
export type BlobOpener = (range?: { start: number; end: number }) => Readable;

function header(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function nextLocation(res: RegistryResponse, what: string): string {
  const loc = header(res.headers.location);
  if (!loc)
    throw new RegistryError({ method: 'POST', url: res.url, status: res.status, retryable: false, message: `${what}: the registry sent no upload Location` });
  // Relative Locations resolve against the URL of the response that carried them.
  return new URL(loc, res.url).toString();
}

function withDigest(location: string, digest: Digest): string {
  const u = new URL(location);
  u.searchParams.set('digest', digest);
  return u.toString();
}

/** Abandon an upload session (best effort: the registry purges stale sessions anyway). */
async function cancelSession(
  client: RegistryClient,
  base: { registry: string; repository: string; signal: AbortSignal | undefined },
  location: string,
): Promise<void> {
  try {
    const res = await client.send({ ...base, method: 'DELETE', url: location, actions: ['pull', 'push'], okStatuses: [200, 202, 204, 404], retry: false });
    closeBody(res.body);
  } catch {
    // ignored: an abandoned session costs the registry a little disk until its purge
  }
}

/** Upload (or mount) one blob; returns how it got there. */
export async function uploadBlob(
  client: RegistryClient,
  repo: RepositoryRef,
  desc: Pick<Descriptor, 'digest' | 'size'> & { mediaType?: string },
  open: BlobOpener,
  options: UploadBlobOptions = {},
): Promise<'mounted' | 'uploaded'> {
  const { signal } = options;
  const monolithicMax = options.monolithicMaxBytes ?? 32 << 20;
  // Each PATCH costs a round trip plus the registry's per-chunk bookkeeping: measured with
  // docker-registry 2.8, a 200 MB blob took 0.85 s in 16 MiB chunks and 0.67 s in one (skopeo and
  // docker stream a blob in a single PATCH). 128 MiB keeps requests bounded for proxies with body limits.
  const chunkBytes = Math.max(1, options.chunkBytes ?? 128 << 20);
  const what = `blob ${desc.digest} to ${repo.registry}/${repo.repository}`;
  const progress = (bytes: number, phase: TransferProgress['phase']): void =>
    options.onProgress?.({ digest: desc.digest, mediaType: desc.mediaType ?? '', phase, bytes, total: desc.size });
  const base = { registry: repo.registry, repository: repo.repository, signal } as const;
  const mountFrom = typeof options.mountFrom === 'string' ? [options.mountFrom] : (options.mountFrom ?? []);
  const mounts = [...new Set(mountFrom)].filter((r) => r !== repo.repository);

  for (let attempt = 0; ; attempt++) {
    if (signal?.aborted) throw abortedError(signal);
    try {
      // 1. Start a session (or mount).
      let location: string | undefined;
      // Mounts are tried on the first attempt only; a retry goes straight to an upload.
      while (attempt === 0 && mounts.length > 0) {
        const from = mounts.shift()!;
        const res = await client.send({
          ...base,
          method: 'POST',
          path: `blobs/uploads/?mount=${encodeURIComponent(desc.digest)}&from=${encodeURIComponent(from)}`,
          actions: ['pull', 'push'],
          extraScopes: [repositoryScope(from, ['pull'])],
          headers: { 'content-length': '0' },
          okStatuses: [201, 202],
        });
        closeBody(res.body);
        if (res.status === 201) {
          progress(desc.size, 'mounted');
          return 'mounted';
        }
        options.onMountFailed?.(from);
        // 202: the registry could not mount and opened an ordinary upload session instead: use it,
        // unless another candidate is left (then cancel it, as containers/image does).
        location = nextLocation(res, what);
        if (mounts.length === 0) break;
        await cancelSession(client, base, location);
        location = undefined;
      }
      if (location === undefined) {
        const res = await client.send({
          ...base,
          method: 'POST',
          path: 'blobs/uploads/',
          actions: ['pull', 'push'],
          headers: { 'content-length': '0' },
          okStatuses: [202],
        });
        closeBody(res.body);
        location = nextLocation(res, what);
      }

      progress(0, 'transferring');
      let final: RegistryResponse;
      if (desc.size <= monolithicMax) {
        // 2a. One PUT with the whole body.
        final = await client.send({
          ...base,
          method: 'PUT',
          url: withDigest(location, desc.digest),
          actions: ['pull', 'push'],
          headers: { 'content-type': 'application/octet-stream', 'content-length': String(desc.size) },
          body: () => open(),
          okStatuses: [201, 204],
          retry: false,
        });
      } else {
        // 2b. PATCH chunks, each answered with the newest Location and the Range received so far.
        let offset = 0;
        // The most the registry has acknowledged, and answers since that did not raise it: a registry
        // whose Range never advances (416 or 202 at the same offset) must end in an error, not a loop.
        let acked = 0;
        let stuck = 0;
        while (offset < desc.size) {
          const end = Math.min(offset + chunkBytes, desc.size) - 1;
          const res = await client.send({
            ...base,
            method: 'PATCH',
            url: location,
            actions: ['pull', 'push'],
            headers: {
              'content-type': 'application/octet-stream',
              'content-length': String(end - offset + 1),
              'content-range': `${offset}-${end}`,
            },
            body: () => open({ start: offset, end }),
            okStatuses: [202, 416],
            retry: false,
          });
          closeBody(res.body);
          location = nextLocation(res, what);
          const range = /^(?:bytes=)?0-(\d+)$/.exec(header(res.headers.range) ?? '');
          if (res.status === 416) {
            // The registry tells us what it has; continue from there.
            if (!range)
              throw new RegistryError({
                method: 'PATCH',
                url: res.url,
                status: 416,
                retryable: true,
                message: `${what}: chunk rejected without a usable Range`,
              });
            offset = Number(range[1]) + 1;
          } else {
            offset = range ? Number(range[1]) + 1 : end + 1;
            progress(offset, 'transferring');
          }
          if (offset > acked) {
            acked = offset;
            stuck = 0;
          } else if (++stuck >= client.retryPolicy.attempts) {
            throw new RegistryError({
              method: 'PATCH',
              url: res.url,
              status: res.status,
              retryable: false,
              message: `${what}: no progress, the registry's Range stayed at ${offset} bytes for ${stuck} chunks in a row`,
              hint: `${repo.registry} does not keep the chunks it is sent; report it to the registry owner`,
            });
          }
        }
        final = await client.send({
          ...base,
          method: 'PUT',
          url: withDigest(location, desc.digest),
          actions: ['pull', 'push'],
          headers: { 'content-length': '0' },
          okStatuses: [201, 204],
          retry: false,
        });
      }
      closeBody(final.body);
      const got = header(final.headers['docker-content-digest']);
      if (got && got !== desc.digest) {
        throw new TsbuildError('TSB_DIGEST_MISMATCH', `${what}: the registry stored it as ${got}, expected ${desc.digest}`, {
          details: { expected: desc.digest, actual: got },
        });
      }
      progress(desc.size, 'done');
      return 'uploaded';
    } catch (err) {
      if (signal?.aborted) throw abortedError(signal);
      const retryable = err instanceof RegistryError && err.retryable;
      if (!retryable || attempt + 1 >= client.retryPolicy.attempts) throw err;
      await sleep(backoffDelay(client.retryPolicy, attempt), signal);
    }
  }
}
