// Verify credentials the way `docker login` does: GET /v2/, follow the challenge (Basic, or a
// Bearer token fetched from the realm with the credentials) and expect 200 with them.
import { closeBody } from './http-body.js';
import type { RegistryClient } from './registry-client.js';

/**
 * Resolves when `client` (holding the credentials to check) may access `registry`'s /v2/:
 * 'authenticated' after a challenge, 'anonymous' when the registry asked for nothing.
 * Rejects with a RegistryError (TSB_REGISTRY_UNAUTHORIZED for wrong credentials).
 */
export async function checkCredentials(
  client: RegistryClient,
  registry: string,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<'authenticated' | 'anonymous'> {
  await client.ensureScheme(registry, options.signal);
  const res = await client.send({
    method: 'GET',
    registry,
    repository: '',
    url: `${client.baseUrl(registry)}/v2/`,
    actions: [],
    okStatuses: [200],
    signal: options.signal,
  });
  closeBody(res.body);
  return client.authScheme(registry) === 'anonymous' ? 'anonymous' : 'authenticated';
}
