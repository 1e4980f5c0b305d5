// Small pieces every command shares: the registry client and Ctrl-C handling.
import { homePaths } from '../lib/home.js';
import {
  RegistryClient,
  blobInfoCache,
  authFileCredentials,
  chainCredentials,
  parseCredsFlag,
  staticCredentials,
  type CredentialProvider,
} from '../lib/registry/index.js';

export interface RegistryClientFlags {
  /** USER:PASS from --creds; used before the auth files. */
  creds?: string | undefined;
  /** Registries --creds applies to (default: every registry the command talks to). */
  credsFor?: string[] | undefined;
  /** Extra CA bundle (--ca-cert). */
  caCert?: string | undefined;
}

/**
 * A registry client whose credentials come from --creds, then the auth files and credential
 * helpers (REGISTRY_AUTH_FILE, containers auth.json, Docker config.json) — the files `tsbuild login` writes.
 */
export function registryClient(insecureRegistries: string[] = [], flags: RegistryClientFlags = {}): RegistryClient {
  const providers: CredentialProvider[] = [];
  if (flags.creds !== undefined) providers.push(staticCredentials(parseCredsFlag(flags.creds), flags.credsFor));
  providers.push(authFileCredentials());
  return new RegistryClient({
    insecureRegistries,
    // Shared by every command and process of this home, as skopeo's cache is per user.
    blobInfoCache: blobInfoCache(homePaths().blobInfoCache),
    credentials: chainCredentials(...providers),
    ...(flags.caCert ? { caFile: flags.caCert } : {}),
  });
}

/** Run `fn` with a signal that aborts on SIGINT/SIGTERM, so sandboxes are killed and mounts removed. */
export async function withAbort<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
