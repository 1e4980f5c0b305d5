// docker-registry behind a token server (Docker's bearer-token flow) for auth tests: the token
// endpoint is an in-process HTTP server signing ES256 JWTs the registry trusts.
import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from './registry.js';
import { selfSignedCert } from './self-signed-cert.js';

export interface TokenRequestLog {
  scopes: string[];
  service: string | undefined;
  user: string | undefined;
  /** The realm was asked with Basic credentials. */
  withCredentials: boolean;
}

export interface TokenAuthRegistry {
  registry: RunningRegistry;
  /** 127.0.0.1:PORT of the token server. */
  tokenHost: string;
  tokenRequests: TokenRequestLog[];
  stop(): Promise<void>;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** Registry with token auth: `user` gets what it asks for, anonymous callers get pull only. */
export async function startTokenAuthRegistry(opts: { user: string; password: string; expiresIn?: number }): Promise<TokenAuthRegistry> {
  const { createSign, randomUUID } = await import('node:crypto');
  const certDir = await mkdtemp(join(tmpdir(), 'tsbuild-token-'));
  const { keyPath, certPath } = await selfSignedCert(certDir, '/CN=tsbuild-test-token');
  const key = await readFile(keyPath, 'utf8');
  const certDer = Buffer.from((await readFile(certPath, 'utf8')).replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const service = 'tsbuild-test-registry';
  const issuer = 'tsbuild-test-issuer';
  const tokenRequests: TokenRequestLog[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const scopes = url.searchParams.getAll('scope');
    let user: string | undefined;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      if (u !== opts.user || p.join(':') !== opts.password) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"details":"bad credentials"}');
        tokenRequests.push({ scopes, service: url.searchParams.get('service') ?? undefined, user: u, withCredentials: true });
        return;
      }
      user = u;
    }
    tokenRequests.push({ scopes, service: url.searchParams.get('service') ?? undefined, user, withCredentials: auth !== undefined });
    const access = scopes.flatMap((s) => {
      const m = /^repository:([^:]+):(.+)$/.exec(s);
      if (!m) return [];
      const actions = m[2]!.split(',').filter((a) => user !== undefined || a === 'pull');
      return [{ type: 'repository', name: m[1]!, actions }];
    });
    const now = Math.floor(Date.now() / 1000);
    const expiresIn = opts.expiresIn ?? 300;
    const header = { typ: 'JWT', alg: 'RS256', x5c: [certDer.toString('base64')] };
    const claims = { iss: issuer, sub: user ?? '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access };
    const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
    const signature = createSign('RSA-SHA256').update(signingInput).sign(key);
    const token = `${signingInput}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, expires_in: expiresIn }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const tokenHost = `127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const authYaml = [
    'auth:',
    '  token:',
    `    realm: http://${tokenHost}/token`,
    `    service: ${service}`,
    `    issuer: ${issuer}`,
    `    rootcertbundle: ${certPath}`,
  ].join('\n');
  let registry: RunningRegistry;
  try {
    registry = await startRegistry({ authYaml });
  } catch (err) {
    server.close();
    await rm(certDir, { recursive: true, force: true });
    throw err;
  }
  return {
    registry,
    tokenHost,
    tokenRequests,
    stop: async () => {
      await registry.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(certDir, { recursive: true, force: true });
    },
  };
}
