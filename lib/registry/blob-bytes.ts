// Small blobs (image configs) fetched into memory without touching the store, for `image inspect`
// of a remote image: size-capped and digest-verified like manifests.
import { sha256 } from '../digest.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
import { closeBody, readCapped } from './http-body.js';
import type { RegistryClient } from './registry-client.js';
import type { RepositoryRef } from './transfer-types.js';

export async function fetchBlobBytes(
  client: RegistryClient,
  repo: RepositoryRef,
  desc: Pick<Descriptor, 'digest' | 'size'>,
  limit: number,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<Buffer> {
  const what = `blob ${desc.digest} from ${repo.registry}/${repo.repository}`;
  if (desc.size > limit) {
    throw new TsbuildError('TSB_TOO_LARGE', `${what} is ${desc.size} bytes, more than the ${limit}-byte limit for this kind of blob`);
  }
  const res = await client.send({
    method: 'GET',
    registry: repo.registry,
    repository: repo.repository,
    path: `blobs/${desc.digest}`,
    actions: ['pull'],
    okStatuses: [200],
    signal: options.signal,
  });
  let bytes: Buffer;
  try {
    bytes = await readCapped(res.body, limit, what, res.headers['content-length']);
  } catch (err) {
    closeBody(res.body);
    throw err;
  }
  const actual = sha256(bytes);
  if (actual !== desc.digest) throw new DigestMismatchError(what, desc.digest, actual);
  if (bytes.length !== desc.size) {
    throw new TsbuildError('TSB_SIZE_MISMATCH', `${what}: expected ${desc.size} bytes, got ${bytes.length}`);
  }
  return bytes;
}
