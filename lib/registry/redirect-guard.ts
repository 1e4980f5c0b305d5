// An undici interceptor placed *inside* the redirect interceptor, so it sees every hop of a
// redirected request. undici already drops Authorization/Cookie/Proxy-Authorization when a hop
// changes origin; this guard enforces it against the origin the credentials were issued for (not
// just the previous hop), refuses non-http(s) targets and https→http downgrades, and never lets
// credentials reach a storage host (registry blob GETs 307 to S3/GCS-style pre-signed URLs).
import type { Dispatcher } from 'undici';

/** Request option naming the origin (scheme://host:port) the Authorization header belongs to. */
export const CREDENTIAL_ORIGIN = 'tsbuildCredentialOrigin';

const SENSITIVE = new Set(['authorization', 'proxy-authorization', 'cookie']);

type Headers = Dispatcher.DispatchOptions['headers'];

function stripSensitive(headers: Headers): Headers {
  if (!headers) return headers;
  if (Array.isArray(headers)) {
    // flat [name, value, name, value] or [[name, value], ...]
    if (headers.length > 0 && Array.isArray(headers[0])) {
      return (headers as unknown as Array<[string, string]>).filter(([k]) => !SENSITIVE.has(String(k).toLowerCase())) as unknown as Headers;
    }
    const out: string[] = [];
    for (let i = 0; i + 1 < headers.length; i += 2) {
      const k = String(headers[i]);
      if (!SENSITIVE.has(k.toLowerCase())) out.push(k, String(headers[i + 1]));
    }
    return out;
  }
  const proto = Object.getPrototypeOf(headers) as unknown;
  const entries: Iterable<[string, string | string[] | undefined]> =
    proto === Object.prototype || proto === null
      ? Object.entries(headers as Record<string, string | string[] | undefined>)
      : (headers as Iterable<[string, string | string[] | undefined]>);
  const out: Record<string, string | string[] | undefined> = {};
  for (const [k, v] of entries) if (!SENSITIVE.has(String(k).toLowerCase())) out[k] = v;
  return out;
}

export class RedirectRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedirectRefusedError';
  }
}

export function redirectGuard(): Dispatcher.DispatcherComposeInterceptor {
  return (dispatch) => (opts, handler) => {
    const { [CREDENTIAL_ORIGIN]: credOrigin, ...rest } = opts as Dispatcher.DispatchOptions & { [CREDENTIAL_ORIGIN]?: string };
    const origin = opts.origin === undefined ? undefined : String(opts.origin);
    if (origin !== undefined) {
      let hop: URL;
      try {
        hop = new URL(origin);
      } catch {
        throw new RedirectRefusedError(`refusing to follow a redirect to an invalid origin "${origin.slice(0, 200)}"`);
      }
      if (hop.protocol !== 'http:' && hop.protocol !== 'https:') {
        throw new RedirectRefusedError(`refusing to follow a redirect to ${hop.protocol} (only http and https are allowed)`);
      }
      if (credOrigin !== undefined) {
        const first = new URL(credOrigin);
        if (first.protocol === 'https:' && hop.protocol === 'http:') {
          throw new RedirectRefusedError(`refusing a redirect from https to plain http (${hop.host})`);
        }
        if (hop.origin !== first.origin) {
          const headers = stripSensitive(rest.headers);
          return dispatch(headers === undefined ? rest : { ...rest, headers }, handler);
        }
      }
    }
    return dispatch(rest as Dispatcher.DispatchOptions, handler);
  };
}
