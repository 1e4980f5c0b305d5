// RegistryError: a failed exchange with a registry, shaped by the distribution spec's error body
// ({"errors":[{"code","message","detail"}]}), with a redacted URL and a retry classification.
import { TsbuildError, type ErrorCode } from '../errors.js';
import { BODY_TIMEOUT } from './http-exchange.js';

export interface SpecError {
  code: string;
  message?: string;
  detail?: unknown;
}

export interface RegistryErrorInit {
  method: string;
  url: string;
  status?: number;
  specErrors?: SpecError[];
  retryable?: boolean;
  code?: ErrorCode | undefined;
  message?: string | undefined;
  hint?: string;
  cause?: unknown;
  /** Registry host as the user wrote it, for hints. */
  registry?: string;
  /** No connection at all (refused, reset, DNS, timeout): not a TLS or redirect problem. */
  unreachable?: boolean;
}

// Query parameters that are safe to show; every other value (signatures, tokens) is redacted.
const SAFE_QUERY = new Set(['mount', 'from', 'digest', 'n', 'last', 'service', 'scope', '_state_redacted']);

/** Strip userinfo and secret-looking query values (pre-signed storage URLs, upload state). */
export function redactUrl(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url.replace(/\/\/[^/@]*@/, '//REDACTED@').replace(/\?.*$/, '?REDACTED');
  }
  if (u.username || u.password) {
    u.username = 'REDACTED';
    u.password = '';
  }
  for (const key of [...u.searchParams.keys()]) {
    if (!SAFE_QUERY.has(key)) u.searchParams.set(key, 'REDACTED');
  }
  return u.toString();
}

export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status === 500 || status === 502 || status === 503 || status === 504;
}

function codeForStatus(status: number | undefined, specErrors: SpecError[]): ErrorCode {
  if (status === undefined) return 'TSB_REGISTRY_NETWORK';
  if (status === 401 || status === 403 || specErrors.some((e) => e.code === 'UNAUTHORIZED' || e.code === 'DENIED')) {
    return 'TSB_REGISTRY_UNAUTHORIZED';
  }
  if (status === 404) return 'TSB_REGISTRY_NOT_FOUND';
  return 'TSB_REGISTRY_HTTP';
}

function defaultHint(code: ErrorCode, status: number | undefined, registry: string | undefined): string | undefined {
  const reg = registry ?? 'the registry';
  switch (code) {
    case 'TSB_REGISTRY_UNAUTHORIZED':
      return `run \`tsbuild login ${registry ?? 'REGISTRY'}\` (or pass --creds USER:PASS) with an account that may access this repository`;
    case 'TSB_REGISTRY_NOT_FOUND':
      return 'check the repository name and tag; for a private repository, missing access can also look like "not found"';
    case 'TSB_REGISTRY_NETWORK':
      // TLS problems get their own hint (--insecure-registry, SSL_CERT_FILE) where they are detected.
      return `check that ${reg} is reachable (address, network, proxy, DNS)`;
    default:
      if (status !== undefined && status >= 500) return `${reg} reported a server error; retry later`;
      return undefined;
  }
}

export class RegistryError extends TsbuildError {
  readonly status: number | undefined;
  readonly specCodes: string[];
  readonly specErrors: SpecError[];
  readonly method: string;
  /** Redacted: no credentials or signed query values. */
  readonly url: string;
  readonly retryable: boolean;
  readonly unreachable: boolean;

  constructor(init: RegistryErrorInit) {
    const specErrors = init.specErrors ?? [];
    const code = init.code ?? codeForStatus(init.status, specErrors);
    const url = redactUrl(init.url);
    const specText = specErrors
      .map((e) => (e.message ? `${e.code}: ${e.message}` : e.code))
      .join('; ')
      .slice(0, 1000);
    const what = init.message ?? (init.status !== undefined ? `HTTP ${init.status}` : 'request failed');
    const message = `${init.method} ${url}: ${what}${specText ? ` (${specText})` : ''}`;
    const hint = init.hint ?? defaultHint(code, init.status, init.registry);
    super(code, message, {
      ...(hint !== undefined ? { hint } : {}),
      details: { status: init.status, specCodes: specErrors.map((e) => e.code), method: init.method, url },
      cause: init.cause,
    });
    this.name = 'RegistryError';
    this.status = init.status;
    this.specErrors = specErrors;
    this.specCodes = specErrors.map((e) => e.code);
    this.method = init.method;
    this.url = url;
    this.retryable = init.retryable ?? (init.status === undefined ? true : isRetryableStatus(init.status));
    this.unreachable = init.unreachable ?? false;
  }
}

/** Parse a spec error body; anything unparseable yields an empty list (caller keeps the status). */
export function parseSpecErrors(body: string): SpecError[] {
  try {
    const parsed = JSON.parse(body) as { errors?: unknown };
    if (!Array.isArray(parsed.errors)) return [];
    const out: SpecError[] = [];
    for (const e of parsed.errors.slice(0, 20)) {
      if (e && typeof e === 'object' && typeof (e as SpecError).code === 'string') {
        const se: SpecError = { code: String((e as SpecError).code).slice(0, 100) };
        const m = (e as SpecError).message;
        if (typeof m === 'string') se.message = m.slice(0, 500);
        out.push(se);
      }
    }
    return out;
  } catch {
    return [];
  }
}

/**
 * A response that could not be read to its end: it broke off, stalled, or its HTTP framing was
 * malformed (llhttp's HPE_* codes, which no retry mends).
 */
export function bodyError(init: { method: string; url: string; registry: string; what: string; cause: unknown; retryable: boolean }): RegistryError {
  const e = init.cause as { code?: unknown; message?: unknown } | undefined;
  const code = typeof e?.code === 'string' ? e.code : '';
  const detail = `${code ? `${code}: ` : ''}${String(e?.message ?? e)}`;
  const malformed = code.startsWith('HPE_');
  return new RegistryError({
    method: init.method,
    url: init.url,
    registry: init.registry,
    retryable: init.retryable && !malformed,
    cause: init.cause,
    message: malformed ? `${init.what}: the registry sent a malformed HTTP response (${detail})` : `${init.what}: the response broke off (${detail})`,
    ...(malformed
      ? { hint: malformedHint(init.registry) }
      : code === BODY_TIMEOUT
        ? { hint: 'the registry stopped sending; retry later, or raise the no-progress deadline with TSBUILD_TRANSFER_TIMEOUT=SECONDS' }
        : {
            hint: `the connection to ${init.registry} broke off in the middle of an answer, also when asked again; retry later, and check any proxy in between`,
          }),
  });
}

/** What to do about a registry whose answers are not HTTP/1.1 as the RFC frames it. */
export function malformedHint(registry: string): string {
  return `${registry} (or a proxy in front of it) sent a response that is not valid HTTP/1.1; retry, and report it to the registry owner if it persists`;
}
