// Small pieces every command shares: the registry client and Ctrl-C handling.
import { homePaths } from '../lib/home.js';
import { TsbuildError } from '../lib/errors.js';
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
  /** --transfer-timeout SECONDS (else $TSBUILD_TRANSFER_TIMEOUT, else 60). */
  transferTimeout?: string | undefined;
}

function positiveNumber(name: string, value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new TsbuildError('TSB_USAGE', `${name} must be a positive number (got "${value}")`);
  return n;
}

/**
 * Transfer deadlines: no headers, or less than 1 KiB of body, for TIMEOUT seconds fails a request (or stalls a blob download, which
 * is resumed TSBUILD_TRANSFER_RESUMES times, default 3, then fails with exit 3).
 */
function transferLimits(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): { headersTimeoutMs?: number; bodyTimeoutMs?: number; maxStallResumes?: number } {
  const out: { headersTimeoutMs?: number; bodyTimeoutMs?: number; maxStallResumes?: number } = {};
  const timeout = flag ?? env.TSBUILD_TRANSFER_TIMEOUT;
  if (timeout !== undefined && timeout !== '') {
    const ms = Math.round(positiveNumber(flag !== undefined ? '--transfer-timeout' : 'TSBUILD_TRANSFER_TIMEOUT', timeout) * 1000);
    out.headersTimeoutMs = ms;
    out.bodyTimeoutMs = ms;
  }
  const resumes = env.TSBUILD_TRANSFER_RESUMES;
  if (resumes !== undefined && resumes !== '') {
    const n = Number(resumes);
    if (!Number.isInteger(n) || n < 0) throw new TsbuildError('TSB_USAGE', `TSBUILD_TRANSFER_RESUMES must be a whole number (got "${resumes}")`);
    out.maxStallResumes = n;
  }
  return out;
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
    ...transferLimits(flags.transferTimeout),
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
