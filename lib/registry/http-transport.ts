// HTTP for the registry client on node:http/node:https: keep-alive agents, a deadline for the
// response headers and one for silence in the body, redirects checked hop by hop (redirect-guard.ts).
// undici did this before; loading it (its HTTP/1 and HTTP/2 clients, fetch's body helpers, the
// llhttp WebAssembly parser, node:http2 and node:tls) cost every pull and push ~20-25 ms of CPU at
// start against ~4 ms for node:http, whose parser is built into node; a 100 MB pull costs the same
// either way (measured: 203 vs 208 ms of CPU for the two layers of the transfer bench, hashed).
import type { Agent as HttpAgent, ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { createRequire } from 'node:module';
import { pipeline, type Readable } from 'node:stream';
import { guardRedirect, redirectTarget } from './redirect-guard.js';

const require = createRequire(import.meta.url);

/** Error codes of the two deadlines (retry-policy.ts treats both as worth another attempt). */
export const HEADERS_TIMEOUT = 'TSB_HTTP_HEADERS_TIMEOUT';
export const BODY_TIMEOUT = 'TSB_HTTP_BODY_TIMEOUT';

export interface HttpRequestOptions {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer | Readable | undefined;
  signal?: AbortSignal | undefined;
  /** Milliseconds until the response headers arrive. */
  headersTimeout: number;
  /** Milliseconds the body may stay silent. */
  bodyTimeout: number;
  /** Redirects followed (0: a 3xx is handed back as it is). */
  maxRedirections?: number | undefined;
  /** The origin the Authorization header was issued for: no other origin may see it. */
  credentialOrigin?: string | undefined;
}

export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: Readable;
}

function codedError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie']);

export class HttpTransport {
  private plainAgent: HttpAgent | undefined;
  private tlsAgent: HttpsAgent | undefined;

  /** `extraCa`: PEM bundles trusted for https in addition to node's roots (a function: asked at the first https request). */
  constructor(private readonly extraCa: readonly string[] | (() => readonly string[]) = []) {}

  async request(url: string, options: HttpRequestOptions): Promise<HttpResponse> {
    let target = new URL(url);
    let { method, headers, body } = options;
    const credentialOrigin = options.credentialOrigin ?? target.origin;
    for (let hop = 0; ; hop++) {
      if (hop > 0) {
        // Every hop is checked against the origin the credentials belong to, not the previous hop.
        const { keepCredentials } = guardRedirect(target, credentialOrigin);
        if (!keepCredentials) headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !SENSITIVE.has(k.toLowerCase())));
      }
      const res = await this.once(target, method, headers, body, options);
      const location = res.headers.location;
      if (!(location && REDIRECTS.has(res.statusCode) && hop < (options.maxRedirections ?? 0))) return res;
      // 303 (and 301/302 after a POST) continue as a GET without a body, as browsers and undici do;
      // 307/308 repeat the request, which a consumed stream cannot.
      const asGet = res.statusCode === 303 || ((res.statusCode === 301 || res.statusCode === 302) && method === 'POST');
      if (!asGet && body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body)) return res;
      res.body.on('error', () => undefined);
      res.body.destroy();
      if (asGet) {
        method = method === 'HEAD' ? 'HEAD' : 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !/^content-(length|type)$/i.test(k)));
      }
      target = redirectTarget(location, target);
    }
  }

  private agentFor(url: URL): { request: typeof import('node:http').request; agent: HttpAgent | HttpsAgent } {
    if (url.protocol === 'https:') {
      // node:https (and node:tls with it) only when a registry speaks TLS.
      const https = require('node:https') as typeof import('node:https');
      if (!this.tlsAgent) {
        const extraCa = typeof this.extraCa === 'function' ? this.extraCa() : this.extraCa;
        const ca = extraCa.length > 0 ? [...(require('node:tls') as typeof import('node:tls')).rootCertificates, ...extraCa] : undefined;
        this.tlsAgent = new https.Agent({ keepAlive: true, scheduling: 'lifo', ...(ca ? { ca } : {}) });
      }
      return { request: https.request, agent: this.tlsAgent };
    }
    const http = require('node:http') as typeof import('node:http');
    this.plainAgent ??= new http.Agent({ keepAlive: true, scheduling: 'lifo' });
    return { request: http.request, agent: this.plainAgent };
  }

  private once(
    url: URL,
    method: string,
    headers: Record<string, string>,
    body: HttpRequestOptions['body'],
    options: HttpRequestOptions,
  ): Promise<HttpResponse> {
    const { request, agent } = this.agentFor(url);
    const { signal } = options;
    return new Promise<HttpResponse>((resolve, reject) => {
      let req: ClientRequest;
      try {
        req = request(url, { method, headers, agent, ...(signal ? { signal } : {}) });
      } catch (err) {
        reject(err);
        return;
      }
      // Settled once the headers are in or the request failed: a refresh() after clearTimeout would arm
      // the timer again, so every re-arm checks this first.
      let waiting = true;
      const headersTimer = setTimeout(() => {
        if (waiting) req.destroy(codedError(HEADERS_TIMEOUT, `no response headers within ${options.headersTimeout} ms`));
      }, options.headersTimeout);
      headersTimer.unref();
      const settled = (): void => {
        waiting = false;
        clearTimeout(headersTimer);
      };
      req.once('error', (err) => {
        settled();
        reject(err);
      });
      req.once('response', (res: IncomingMessage) => {
        settled();
        // Silence in the body: the timer restarts with every read from the socket (watched there, since
        // a 'data' listener on the response would start it flowing before its reader is ready). Bytes
        // waiting for a slow reader are the reader's delay, not the server's: the timer is re-armed.
        const socket = res.socket;
        const bodyTimer = setTimeout(() => {
          // Everything received: the server has nothing more to send.
          if (res.complete) return;
          if (res.readableLength > 0 || (socket?.readableLength ?? 0) > 0) bodyTimer.refresh();
          else res.destroy(codedError(BODY_TIMEOUT, `no body data for ${options.bodyTimeout} ms`));
        }, options.bodyTimeout);
        bodyTimer.unref();
        const onData = (): void => {
          bodyTimer.refresh();
        };
        socket?.on('data', onData);
        const stop = (): void => {
          clearTimeout(bodyTimer);
          socket?.off('data', onData);
        };
        res.once('end', stop);
        res.once('close', stop);
        res.once('error', stop);
        // An error after the headers belongs to the body's reader (the request's 'error' already fired
        // reject, a no-op now).
        req.on('error', () => undefined);
        resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
      });
      if (body === undefined) req.end();
      else if (typeof body === 'string' || Buffer.isBuffer(body)) req.end(body);
      else {
        // A failing source destroys the request (the caller's 'error'); a failing request closes the
        // source. The headers deadline counts from the last byte sent: an upload takes its time.
        pipeline(body, req, () => undefined);
        body.on('data', () => {
          if (waiting) headersTimer.refresh();
        });
      }
    });
  }

  close(): void {
    this.plainAgent?.destroy();
    this.tlsAgent?.destroy();
  }
}
