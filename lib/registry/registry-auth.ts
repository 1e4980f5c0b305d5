// Authentication state for one registry: learns the scheme from the /v2/ challenge, then sends
// Basic credentials or Bearer tokens (fetched from the challenge's realm, cached per scope set,
// refreshed on expiry or 401). Anonymous tokens work the same way without credentials.
import type { HttpResponse, HttpTransport } from './http-transport.js';
import { TsbuildError } from '../errors.js';
import { parseChallenges, type Challenge } from './challenge.js';
import type { Credential, CredentialProvider } from './credentials.js';
import { readCapped, discard } from './http-body.js';
import { RegistryError, bodyError, parseSpecErrors } from './registry-error.js';

const TOKEN_BODY_LIMIT = 1 << 20;
// containers/image: tokens live at least 60 s whatever the server says; we also cap the lifetime.
const MIN_TOKEN_LIFETIME_S = 60;
const MAX_TOKEN_LIFETIME_S = 24 * 3600;
const EXPIRY_MARGIN_MS = 5_000;

export type Scope = string;

export function repositoryScope(repository: string, actions: Array<'pull' | 'push'>): Scope {
  return `repository:${repository}:${actions.join(',')}`;
}

interface CachedToken {
  token: string;
  expiresAt: number;
}

export interface RegistryAuthContext {
  /** Registry name as in references (docker.io for Hub); used for credential lookup and hints. */
  registry: string;
  /** scheme://host[:port] the registry is reached at. */
  baseUrl: string;
  credentials: CredentialProvider;
  transport: Pick<HttpTransport, 'request'>;
  userAgent: string;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
}

export class RegistryAuth {
  private mode: 'unknown' | 'anonymous' | 'basic' | 'bearer' = 'unknown';
  private bearer: { realm: string; service: string | undefined } | undefined;
  private readonly tokens = new Map<string, CachedToken>();
  private readonly inflight = new Map<string, Promise<CachedToken>>();
  private ping: Promise<void> | undefined;
  private readonly credentialCache = new Map<string, Promise<Credential | undefined>>();

  constructor(private readonly ctx: RegistryAuthContext) {}

  /** How the registry authenticates, as learnt from its /v2/ challenge ('unknown' before the first request). */
  get scheme(): 'unknown' | 'anonymous' | 'basic' | 'bearer' {
    return this.mode;
  }

  private getCredential(repository?: string): Promise<Credential | undefined> {
    const key = repository ?? '';
    let p = this.credentialCache.get(key);
    if (!p) {
      p = this.ctx.credentials.get(this.ctx.registry, repository);
      this.credentialCache.set(key, p);
    }
    return p;
  }

  /** Learn how the registry authenticates before the first request needs it (RegistryClient.warmUp). */
  learnScheme(): Promise<void> {
    return this.mode === 'unknown' ? this.learn(undefined) : Promise.resolve();
  }

  /** GET /v2/ once to learn how this registry wants to be authenticated. */
  private async learn(signal: AbortSignal | undefined): Promise<void> {
    this.ping ??= (async () => {
      const url = `${this.ctx.baseUrl}/v2/`;
      let res: HttpResponse;
      try {
        res = await this.ctx.transport.request(url, {
          method: 'GET',
          headers: { 'user-agent': this.ctx.userAgent },
          signal,
          headersTimeout: this.ctx.headersTimeoutMs,
          bodyTimeout: this.ctx.bodyTimeoutMs,
        });
      } catch (err) {
        this.ping = undefined;
        throw err;
      }
      await discard(res.body);
      if (res.statusCode === 401) {
        this.applyChallenges(parseChallenges(res.headers['www-authenticate']));
      } else {
        this.mode = 'anonymous';
      }
    })();
    return this.ping;
  }

  private applyChallenges(challenges: Challenge[]): boolean {
    const bearer = challenges.find((c) => c.scheme === 'bearer');
    if (bearer?.params.realm) {
      this.mode = 'bearer';
      this.bearer = { realm: bearer.params.realm, service: bearer.params.service };
      return true;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      this.mode = 'basic';
      return true;
    }
    return false;
  }

  /** The Authorization header value for a request needing `scopes`, or undefined for none. */
  async authorization(scopes: Scope[], repository: string | undefined, signal: AbortSignal | undefined): Promise<string | undefined> {
    if (this.mode === 'unknown') await this.learn(signal);
    if (this.mode === 'basic') {
      const cred = await this.getCredential(repository);
      if (cred && 'username' in cred) return basicHeader(cred);
      return undefined;
    }
    if (this.mode === 'bearer') {
      const tok = await this.token(scopes, repository, signal);
      return `Bearer ${tok.token}`;
    }
    return undefined;
  }

  /**
   * A request came back 401: take the fresh challenge, drop cached tokens for these scopes.
   * Returns whether retrying with new authorization can help (the caller retries once).
   */
  async unauthorized(wwwAuthenticate: string | string[] | undefined, scopes: Scope[], repository: string | undefined): Promise<boolean> {
    const before = this.mode;
    const changed = this.applyChallenges(parseChallenges(wwwAuthenticate));
    if (!changed) return false;
    if (this.mode === 'bearer') {
      this.tokens.delete(scopeKey(scopes));
      return true;
    }
    // Basic: a retry helps only if we did not already send credentials.
    const cred = await this.getCredential(repository);
    return before !== 'basic' && cred !== undefined && 'username' in cred;
  }

  private token(scopes: Scope[], repository: string | undefined, signal: AbortSignal | undefined): Promise<CachedToken> {
    const key = scopeKey(scopes);
    const cached = this.tokens.get(key);
    if (cached && cached.expiresAt - EXPIRY_MARGIN_MS > Date.now()) return Promise.resolve(cached);
    let p = this.inflight.get(key);
    if (!p) {
      p = this.fetchToken(scopes, repository, signal).finally(() => this.inflight.delete(key));
      this.inflight.set(key, p);
    }
    return p;
  }

  private async fetchToken(scopes: Scope[], repository: string | undefined, signal: AbortSignal | undefined): Promise<CachedToken> {
    const { realm, service } = this.bearer!;
    let realmUrl: URL;
    try {
      realmUrl = new URL(realm);
    } catch {
      throw this.authError(`the token realm "${realm.slice(0, 200)}" is not a valid URL`);
    }
    if (realmUrl.protocol !== 'https:' && realmUrl.protocol !== 'http:') {
      throw this.authError(`the token realm uses ${realmUrl.protocol}; only http and https are allowed`);
    }
    if (realmUrl.username || realmUrl.password) throw this.authError('the token realm URL carries user info; refusing it');
    const registryIsHttps = this.ctx.baseUrl.startsWith('https:');
    // CVE-2019-10214: credentials for an https registry never travel to a plain-http realm.
    const mayUseCredentials = realmUrl.protocol === 'https:' || !registryIsHttps;
    const cred = mayUseCredentials ? await this.getCredential(repository) : undefined;

    const headers: Record<string, string> = { 'user-agent': this.ctx.userAgent, accept: 'application/json' };
    let method: 'GET' | 'POST' = 'GET';
    let body: string | undefined;
    if (cred && 'identityToken' in cred) {
      // OAuth2 refresh-token grant (Docker's identity tokens).
      method = 'POST';
      const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: cred.identityToken, client_id: 'tsbuild' });
      if (service) form.set('service', service);
      if (scopes.length) form.set('scope', scopes.join(' '));
      body = form.toString();
      headers['content-type'] = 'application/x-www-form-urlencoded';
    } else {
      if (service) realmUrl.searchParams.set('service', service);
      for (const s of scopes) realmUrl.searchParams.append('scope', s);
      if (cred) headers.authorization = basicHeader(cred);
    }
    const url = realmUrl.toString();
    let res: HttpResponse;
    try {
      res = await this.ctx.transport.request(url, {
        method,
        headers,
        body,
        signal,
        headersTimeout: this.ctx.headersTimeoutMs,
        bodyTimeout: this.ctx.bodyTimeoutMs,
        maxRedirections: 3,
        credentialOrigin: realmUrl.origin,
      });
    } catch (err) {
      throw new RegistryError({ method, url, registry: this.ctx.registry, message: `token request failed: ${(err as Error).message}`, cause: err });
    }
    const what = `token response from ${realmUrl.host}`;
    let text: string;
    try {
      text = (await readCapped(res.body, TOKEN_BODY_LIMIT, what, res.headers['content-length'])).toString('utf8');
    } catch (err) {
      if (err instanceof TsbuildError) throw err;
      throw bodyError({ method, url, registry: this.ctx.registry, what, cause: err, retryable: true });
    }
    if (res.statusCode !== 200) {
      throw new RegistryError({
        method,
        url,
        status: res.statusCode,
        registry: this.ctx.registry,
        specErrors: parseSpecErrors(text),
        code: res.statusCode === 401 || res.statusCode === 403 ? 'TSB_REGISTRY_UNAUTHORIZED' : undefined,
        message:
          res.statusCode === 401 || res.statusCode === 403 ? `authentication failed for ${this.ctx.registry}` : `token request answered HTTP ${res.statusCode}`,
      });
    }
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw this.authError(`the token endpoint ${realmUrl.host} did not answer JSON`);
    }
    const token = typeof parsed.token === 'string' && parsed.token ? parsed.token : typeof parsed.access_token === 'string' ? parsed.access_token : '';
    if (!token) throw this.authError(`the token endpoint ${realmUrl.host} returned no token`);
    // A token goes into an Authorization header: one with spaces or control characters would break the
    // request (or smuggle a header into it). Bearer tokens are token68 (RFC 6750: visible ASCII).
    if (!/^[\x21-\x7e]+$/.test(token)) throw this.authError(`the token endpoint ${realmUrl.host} returned a token that cannot be sent in a header`);
    const lifetime = typeof parsed.expires_in === 'number' && Number.isFinite(parsed.expires_in) ? parsed.expires_in : MIN_TOKEN_LIFETIME_S;
    // Expiry is counted from local receipt time; issued_at from the server is not trusted.
    const seconds = Math.min(Math.max(lifetime, MIN_TOKEN_LIFETIME_S), MAX_TOKEN_LIFETIME_S);
    const entry = { token, expiresAt: Date.now() + seconds * 1000 };
    this.tokens.set(scopeKey(scopes), entry);
    return entry;
  }

  private authError(message: string): TsbuildError {
    return new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `${this.ctx.registry}: ${message}`, {
      hint: 'the registry advertised an unusable token service; check the registry configuration',
    });
  }
}

function scopeKey(scopes: Scope[]): string {
  return [...scopes].sort().join(' ');
}

function basicHeader(cred: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${cred.username}:${cred.password}`).toString('base64')}`;
}
