// The distribution-API client: one HttpTransport (a pool of keep-alive connections, redirects checked by the
// redirect guard), http for loopback/insecure registries and https otherwise, per-registry
// authentication, retries with backoff, and spec-shaped errors.
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { Readable } from 'node:stream';
import { BODY_TIMEOUT, HttpTransport, type HttpResponse } from './http-transport.js';
import { TsbuildError } from '../errors.js';
import { isLoopbackRegistry, registryHost } from '../oci/index.js';
import { BlobInfoCache } from './blob-info-cache.js';
import { speaksTls } from './speaks-tls.js';
import { noCredentials, type CredentialProvider } from './credentials.js';
import { discard, readCapped, readErrorBody } from './http-body.js';
import { RedirectRefusedError, guardRedirect } from './redirect-guard.js';
import { RegistryAuth, repositoryScope, type Scope } from './registry-auth.js';
import { RegistryError, bodyError, isRetryableStatus, malformedHint, parseSpecErrors } from './registry-error.js';
import {
  abortedError,
  backoffDelay,
  isRetryableNetworkError,
  parseRetryAfter,
  resolveRetry,
  sleep,
  type ResolvedRetry,
  type RetryOptions,
} from './retry-policy.js';

export interface RegistryClientOptions {
  credentials?: CredentialProvider;
  /** Registries (host[:port]) reached over plain http although not on loopback. */
  insecureRegistries?: string[];
  /** Extra CA bundle (PEM) trusted in addition to the system roots and $SSL_CERT_FILE. */
  caFile?: string;
  retry?: RetryOptions;
  /** Time to wait for response headers and between body chunks (no-progress timeout, default 60 s). */
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  /** A blob download that stalls (no byte for bodyTimeoutMs) is resumed this many times, then fails (default 3). */
  maxStallResumes?: number;
  /** Independent blobs transferred at once (default 4). */
  concurrency?: number;
  userAgent?: string;
  /** Where blobs were seen, for cross-repository mounts (default: remembered for this client only). */
  blobInfoCache?: BlobInfoCache;
  /** Environment consulted for SSL_CERT_FILE (default process.env). */
  env?: NodeJS.ProcessEnv;
}

export type HttpMethod = 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH' | 'DELETE';

export interface RegistryRequest {
  method: HttpMethod;
  registry: string;
  repository: string;
  /** Path after /v2/<repository>/, e.g. "manifests/latest"; or `url` for an absolute URL. */
  path?: string;
  url?: string;
  headers?: Record<string, string>;
  /** Called per attempt, so a retry sends the body afresh (never a consumed stream). */
  body?: () => string | Buffer | Readable;
  actions: Array<'pull' | 'push'>;
  /** More token scopes, e.g. pull on the source repository of a cross-repo mount. */
  extraScopes?: Scope[];
  /** Statuses handed back to the caller; any other status is an error. */
  okStatuses: number[];
  /** Retry on resets/408/429/5xx (default true). */
  retry?: boolean;
  /** Follow redirects (default: GET and HEAD only). */
  followRedirects?: boolean;
  signal?: AbortSignal | undefined;
}

export interface RegistryResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Readable;
  /** The URL requested (before redirects); relative Locations resolve against it. */
  url: string;
}

function caBundleError(file: string, err: unknown): TsbuildError {
  return new TsbuildError('TSB_USAGE', `cannot read the CA bundle ${file}: ${(err as Error).message}`, { cause: err });
}

/** Fails as reading the file would (missing, unreadable, a directory), without reading it. */
function readableOrThrow(file: string): void {
  try {
    if (statSync(file).isDirectory()) throw Object.assign(new Error('EISDIR: illegal operation on a directory, read'), { code: 'EISDIR' });
    accessSync(file, constants.R_OK);
  } catch (err) {
    throw caBundleError(file, err);
  }
}

function readCaBundle(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw caBundleError(file, err);
  }
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/;

export class RegistryClient {
  readonly concurrency: number;
  readonly retryPolicy: ResolvedRetry;
  readonly blobInfo: BlobInfoCache;
  /** No-progress deadline of a transfer, and how many stalls of one blob are resumed before giving up. */
  readonly idleTimeoutMs: number;
  readonly maxStallResumes: number;
  /** Every request of this client, its auth's included, goes through it (connections made on first use). */
  private readonly transport: HttpTransport;
  private readonly credentials: CredentialProvider;
  private readonly insecure: Set<string>;
  private readonly auths = new Map<string, RegistryAuth>();
  private readonly headersTimeoutMs: number;
  private readonly bodyTimeoutMs: number;
  private readonly userAgent: string;

  constructor(options: RegistryClientOptions = {}) {
    const env = options.env ?? process.env;
    // The CA bundles are read on the first https connection (HttpTransport asks once): a plain-http
    // registry never needs them, and the system bundle SSL_CERT_FILE usually names is ~200 KB,
    // 1-2 ms of a 60 ms push to read (twice when bin/tsbuild hands NODE_EXTRA_CA_CERTS on as well).
    // A file that cannot be read is still reported now, by every command that makes a client.
    const bundles = [env.SSL_CERT_FILE, options.caFile].filter((f): f is string => !!f);
    for (const file of bundles) readableOrThrow(file);
    // NODE_EXTRA_CA_CERTS as bin/tsbuild hands it on (node itself would have parsed it at start-up);
    // unreadable, it is skipped with a warning, as node does.
    const nodeExtra = env.TSBUILD_EXTRA_CA_CERTS && !env.NODE_EXTRA_CA_CERTS ? env.TSBUILD_EXTRA_CA_CERTS : undefined;
    // node:tls's root list is only read when the first https connection is made with extra CAs:
    // listing it took ~48 ms of CPU, paid by every command while SSL_CERT_FILE was set.
    this.transport = new HttpTransport(() => {
      const extraCa = bundles.map(readCaBundle);
      if (nodeExtra) {
        try {
          extraCa.push(readFileSync(nodeExtra, 'utf8'));
        } catch (err) {
          process.emitWarning(`Ignoring extra certs from \`${nodeExtra}\`, load failed: ${(err as Error).message}`);
        }
      }
      return extraCa;
    });

    this.credentials = options.credentials ?? noCredentials;
    this.insecure = new Set(options.insecureRegistries ?? []);
    this.retryPolicy = resolveRetry(options.retry);
    this.headersTimeoutMs = options.headersTimeoutMs ?? 60_000;
    this.bodyTimeoutMs = options.bodyTimeoutMs ?? 60_000;
    this.idleTimeoutMs = this.bodyTimeoutMs;
    this.maxStallResumes = Math.max(0, options.maxStallResumes ?? 3);
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.userAgent = options.userAgent ?? 'tsbuild/0.1';
    this.blobInfo = options.blobInfoCache ?? new BlobInfoCache(undefined);
  }

  private readonly schemes = new Map<string, 'http' | 'https'>();
  private readonly probes = new Map<string, Promise<void>>();

  /** Loopback registries and --insecure-registry hosts may serve plain http. */
  private mayBePlain(registry: string): boolean {
    return isLoopbackRegistry(registry) || this.insecure.has(registry);
  }

  /**
   * Docker's rule for loopback and insecure registries: https when the host speaks it, else plain
   * http. Probed once per registry with a TLS handshake; other registries are always https.
   */
  async ensureScheme(registry: string, signal?: AbortSignal): Promise<void> {
    if (!this.mayBePlain(registry) || this.schemes.has(registry)) return;
    let p = this.probes.get(registry);
    if (!p) {
      p = speaksTls(registryHost(registry), signal).then(
        (tls) => {
          this.schemes.set(registry, tls ? 'https' : 'http');
        },
        (err: unknown) => {
          this.probes.delete(registry);
          throw err;
        },
      );
      this.probes.set(registry, p);
    }
    await p;
  }

  /** scheme://host[:port] for a registry name (call ensureScheme first for loopback/insecure hosts). */
  baseUrl(registry: string): string {
    const scheme = this.schemes.get(registry) ?? (this.mayBePlain(registry) ? 'http' : 'https');
    return `${scheme}://${registryHost(registry)}`;
  }

  private auth(registry: string): RegistryAuth {
    let a = this.auths.get(registry);
    if (!a) {
      a = new RegistryAuth({
        registry,
        baseUrl: this.baseUrl(registry),
        credentials: this.credentials,
        transport: this.transport,
        userAgent: this.userAgent,
        headersTimeoutMs: this.headersTimeoutMs,
        bodyTimeoutMs: this.bodyTimeoutMs,
      });
      this.auths.set(registry, a);
    }
    return a;
  }

  /** The authentication scheme learnt for `registry` ('unknown' before any request to it). */
  authScheme(registry: string): RegistryAuth['scheme'] {
    return this.auths.get(registry)?.scheme ?? 'unknown';
  }

  /**
   * Probe the registry's scheme, ask its /v2/ how it authenticates and read the blob-info cache now,
   * so that all three overlap the caller's other start-up work (opening the store, a lease, reading
   * the manifest) instead of delaying the first request. The caller need not wait; it never rejects:
   * the first request reports what went wrong.
   */
  warmUp(registry: string): Promise<void> {
    const scheme = this.ensureScheme(registry)
      .then(() => this.auth(registry).learnScheme())
      .catch(() => undefined);
    return Promise.all([scheme, this.blobInfo.preload()]).then(() => undefined);
  }

  /** Send a request with auth, retries and error mapping; the caller consumes or discards the body. */
  async send(req: RegistryRequest): Promise<RegistryResponse> {
    await this.ensureScheme(req.registry, req.signal);
    const url = req.url ?? `${this.baseUrl(req.registry)}/v2/${req.repository}/${req.path ?? ''}`;
    const target = new URL(url);
    const origin = target.origin;
    const registryOrigin = new URL(this.baseUrl(req.registry)).origin;
    // No actions (a /v2/ ping, e.g. to check credentials at login) asks for a token without scope.
    const scopes = [...(req.actions.length > 0 ? [repositoryScope(req.repository, req.actions)] : []), ...(req.extraScopes ?? [])];
    const auth = this.auth(req.registry);
    const follow = req.followRedirects ?? (req.method === 'GET' || req.method === 'HEAD');
    const policy = req.retry === false ? { ...this.retryPolicy, attempts: 1 } : this.retryPolicy;
    let reauthenticated = false;
    let sentAuthorization = false;
    for (let attempt = 0; ; attempt++) {
      if (req.signal?.aborted) throw abortedError(req.signal);
      let res: HttpResponse;
      try {
        // An absolute URL comes from the registry (an upload Location, a Link): the redirect rules hold for it.
        if (req.url !== undefined) guardRedirect(target, registryOrigin);
        const headers: Record<string, string> = { 'user-agent': this.userAgent, ...req.headers };
        // Credentials go only to the registry's own origin (an upload Location may point elsewhere).
        if (origin === registryOrigin) {
          const authorization = await auth.authorization(scopes, req.repository, req.signal);
          if (authorization) headers.authorization = authorization;
          sentAuthorization = authorization !== undefined;
        }
        res = await this.transport.request(url, {
          method: req.method,
          headers,
          body: req.body?.(),
          signal: req.signal,
          headersTimeout: this.headersTimeoutMs,
          bodyTimeout: this.bodyTimeoutMs,
          maxRedirections: follow ? 5 : 0,
          credentialOrigin: origin,
        });
      } catch (err) {
        if (req.signal?.aborted) throw abortedError(req.signal);
        if (err instanceof TsbuildError) throw err;
        const retryable = !(err instanceof RedirectRefusedError) && isRetryableNetworkError(err);
        if (retryable && attempt + 1 < policy.attempts) {
          await sleep(backoffDelay(policy, attempt), req.signal);
          continue;
        }
        throw this.networkError(req, url, err, retryable);
      }
      const status = res.statusCode;
      if (status === 401 && new URL(res.url).origin !== registryOrigin) {
        // A host the registry redirected to (storage) has no say in how the registry authenticates:
        // its challenge would send the registry's credentials to a realm of its choosing.
        await discard(res.body);
        throw new RegistryError({
          method: req.method,
          url: res.url,
          status,
          registry: req.registry,
          message: `${new URL(res.url).host}, where ${req.registry} sent this request, refused it (HTTP 401); tsbuild gives it no credentials`,
          hint: `${req.registry} redirects to a host that wants credentials of its own; report it to the registry owner`,
        });
      }
      if (status === 401 && !reauthenticated && origin === registryOrigin) {
        reauthenticated = true;
        const www = res.headers['www-authenticate'];
        await discard(res.body);
        if (await auth.unauthorized(www, scopes, req.repository)) {
          attempt--;
          continue;
        }
        throw new RegistryError({
          method: req.method,
          url,
          status,
          registry: req.registry,
          message: sentAuthorization ? `authentication failed for ${req.registry}` : `authentication required by ${req.registry}`,
        });
      }
      if (req.okStatuses.includes(status)) return { status, headers: res.headers, body: res.body, url };
      const text = req.method === 'HEAD' ? '' : await readErrorBody(res.body);
      if (req.method === 'HEAD') await discard(res.body);
      if (isRetryableStatus(status) && attempt + 1 < policy.attempts) {
        await sleep(backoffDelay(policy, attempt, parseRetryAfter(res.headers['retry-after'])), req.signal);
        continue;
      }
      throw new RegistryError({
        method: req.method,
        url,
        status,
        registry: req.registry,
        specErrors: parseSpecErrors(text),
        message: status === 401 ? `authentication failed for ${req.registry}` : undefined,
      });
    }
  }

  /**
   * send() a request for a small document (a manifest, a config, a tag list) and read its body whole,
   * at most `limit` bytes. A body that breaks off or stalls is asked for again, as a reset before the
   * answer would be; what still cannot be read is a RegistryError naming `what`.
   */
  async fetchDocument(req: RegistryRequest, limit: number, what: string): Promise<{ res: RegistryResponse; bytes: Buffer }> {
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(req);
      // A document is small: its whole body gets one body deadline, so a server feeding it 1 KiB at a
      // time (enough for the per-read deadline) cannot stretch a 4 MiB manifest over days.
      const deadline = setTimeout(() => {
        const err = Object.assign(new Error(`the body took longer than ${this.bodyTimeoutMs} ms`), { code: BODY_TIMEOUT });
        res.body.destroy(err);
      }, this.bodyTimeoutMs).unref();
      try {
        return { res, bytes: await readCapped(res.body, limit, what, res.headers['content-length']) };
      } catch (err) {
        if (err instanceof TsbuildError) throw err;
        if (req.signal?.aborted) throw abortedError(req.signal);
        const retryable = isRetryableNetworkError(err);
        if (!retryable || attempt + 1 >= this.retryPolicy.attempts || req.retry === false) {
          throw bodyError({ method: req.method, url: res.url, registry: req.registry, what, cause: err, retryable });
        }
        await sleep(backoffDelay(this.retryPolicy, attempt), req.signal);
      } finally {
        clearTimeout(deadline);
      }
    }
  }

  private networkError(req: RegistryRequest, url: string, err: unknown, retryable: boolean): RegistryError {
    const e = err as NodeJS.ErrnoException;
    const code = typeof e.code === 'string' ? e.code : '';
    let hint: string | undefined;
    if (err instanceof RedirectRefusedError) {
      hint = 'the registry redirected somewhere tsbuild will not follow; report it to the registry owner';
    } else if (code.startsWith('HPE_')) {
      hint = malformedHint(req.registry);
    } else if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      // The certificate is trusted but names another host: neither --insecure-registry nor a CA helps.
      hint = `the certificate of ${req.registry} is not issued for ${new URL(url).hostname}: reach the registry by a name its certificate lists (the error names them), or have its certificate include this one`;
    } else if (TLS_CODES.test(code) || /wrong version number|certificate/i.test(e.message ?? '')) {
      hint =
        `TLS to ${req.registry} failed: if it serves plain http add --insecure-registry ${req.registry}; ` +
        'if it uses a private CA point SSL_CERT_FILE at a bundle that contains it';
    }
    return new RegistryError({
      method: req.method,
      url,
      registry: req.registry,
      retryable,
      ...(err instanceof RedirectRefusedError ? { code: 'TSB_REGISTRY_UNSUPPORTED' as const } : {}),
      message: `${code ? `${code}: ` : ''}${e.message ?? String(err)}`,
      cause: err,
      unreachable: hint === undefined && !req.signal?.aborted,
      ...(hint ? { hint } : {}),
    });
  }

  async close(): Promise<void> {
    await this.blobInfo.save();
    this.transport.close();
  }
}

export function registryClient(options: RegistryClientOptions = {}): RegistryClient {
  return new RegistryClient(options);
}
