// The rule for every hop of a redirected request (http-transport.ts follows them), and for every URL
// a registry names in a header (an upload Location, a Link; registry-client.ts): only http and
// https, never from https down to plain http, and the credentials stay with the origin they were
// issued for (not just the previous hop): they never reach a storage host (registry blob GETs 307
// to S3/GCS-style pre-signed URLs).

export class RedirectRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RedirectRefusedError';
  }
}

/**
 * Check the next hop of a redirect; throws RedirectRefusedError when it may not be followed.
 * `credentialOrigin`: the origin the request's Authorization belongs to (the transport passes the first URL's when the caller names none).
 */
export function guardRedirect(hop: URL, credentialOrigin: string): { keepCredentials: boolean } {
  if (hop.protocol !== 'http:' && hop.protocol !== 'https:') {
    throw new RedirectRefusedError(`refusing to follow a redirect to ${hop.protocol} (only http and https are allowed)`);
  }
  const first = new URL(credentialOrigin);
  if (first.protocol === 'https:' && hop.protocol === 'http:') {
    throw new RedirectRefusedError(`refusing a redirect from https to plain http (${hop.host})`);
  }
  return { keepCredentials: hop.origin === first.origin };
}

/** The next hop's URL; an unparsable Location is refused. */
export function redirectTarget(location: string, from: URL): URL {
  try {
    return new URL(location, from);
  } catch {
    throw new RedirectRefusedError(`refusing to follow a redirect to an invalid location "${location.slice(0, 200)}"`);
  }
}
