// Small pieces every command shares: the registry client and Ctrl-C handling.
import { setFlagsFromString } from 'node:v8';
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
 * Transfer deadlines: no byte for TIMEOUT seconds fails a request (or stalls a blob download, which
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
  // undici parses HTTP with llhttp compiled to WebAssembly, the only wasm tsbuild runs. V8 compiles
  // it at once with its baseline compiler (Liftoff) and re-compiles hot functions with TurboFan on a
  // background thread, and node waits for background compiles before it exits: a push of mounted
  // blobs spent ~90 ms of CPU and up to 0.2 s of wall time on that after its work was done. The
  // baseline code parses a 101 MB pull as fast (the parser only frames the body). Set before the
  // first connection compiles the module. Not before: a command that connects nowhere (a no-op build)
  // keeps V8's flags as they were, and so can the warm-up that writes the CLI's code cache, which V8
  // stamps with its flags (bin/cli-cache.cjs).
  const providers: CredentialProvider[] = [];
  if (flags.creds !== undefined) providers.push(staticCredentials(parseCredsFlag(flags.creds), flags.credsFor));
  providers.push(authFileCredentials());
  return new RegistryClient({
    beforeFirstConnection: () => setFlagsFromString('--liftoff-only'),
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
