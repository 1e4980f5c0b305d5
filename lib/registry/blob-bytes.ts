// Small blobs (image configs) fetched into memory without touching the store, for `image inspect`
// of a remote image: size-capped and digest-verified like manifests.
import { sha256 } from '../digest.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import type { Descriptor } from '../oci/index.js';
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
  const { bytes } = await client.fetchDocument(
    {
      method: 'GET',
      registry: repo.registry,
      repository: repo.repository,
      path: `blobs/${desc.digest}`,
      actions: ['pull'],
      okStatuses: [200],
      signal: options.signal,
    },
    limit,
    what,
  );
  const actual = sha256(bytes);
  if (actual !== desc.digest) throw new DigestMismatchError(what, desc.digest, actual);
  if (bytes.length !== desc.size) {
    throw new TsbuildError('TSB_SIZE_MISMATCH', `${what}: expected ${desc.size} bytes, got ${bytes.length}`);
  }
  return bytes;
}
