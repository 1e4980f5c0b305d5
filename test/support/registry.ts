// Launches Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with throw-away
// filesystem storage, for integration tests. Optional htpasswd (bcrypt) basic auth.
//
// The registry runs under a tiny sh wrapper that kills it as soon as the wrapper's stdin closes.
// The parent holds the write end of that pipe, so even if the test process is SIGKILLed the kernel
// closes the pipe and the registry goes away: no process is left behind.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';

const execFileP = promisify(execFile);

export interface StartRegistryOptions {
  htpasswd?: { user: string; password: string };
  /** Extra YAML appended under the top level (e.g. a token auth section replaces htpasswd). */
  authYaml?: string;
  /** Serve https with a self-signed certificate for 127.0.0.1 (its PEM is RunningRegistry.caFile). */
  tls?: boolean;
}

export interface RunningRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  stop(): Promise<void>;
  /** Temp directory holding config, storage and the log. */
  dir: string;
  logPath: string;
  /** With tls: the certificate to trust (SSL_CERT_FILE / --ca-cert). */
  caFile?: string;
}

const REGISTRY_BIN = process.env.TSBUILD_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

// Registry pids still running; killed synchronously if the test process exits without stop().
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function configYaml(dir: string, port: number, auth: string, tls = false): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    ...(tls ? ['  tls:', `    certificate: ${join(dir, 'cert.pem')}`, `    key: ${join(dir, 'key.pem')}`] : []),
    auth,
    '',
  ].join('\n');
}

/** GET /v2/ until the registry answers (any HTTP status counts: 401 means it is up with auth). */
// The limit only catches a registry that never answers while running: a loaded machine may take
// many seconds to start one (an exit is reported at once).
async function waitReady(host: string, child: ChildProcess, logPath: string, tls = false, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`docker-registry exited before it was ready (log ${logPath}):\n${log.slice(-2000)}`);
    }
    const status = await new Promise<number | undefined>((resolve) => {
      const req = (tls ? httpsRequest : httpRequest)(`${tls ? 'https' : 'http'}://${host}/v2/`, { method: 'GET', timeout: 1000, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
        res.resume();
        resolve(res.statusCode);
      });
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry on ${host} not ready after ${timeoutMs} ms (log ${logPath})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// $1 = binary, $2 = config, $3 = temp dir. stdin of an async command in a non-interactive sh is
// /dev/null, so only `cat` reads the pipe; on EOF the registry is killed and its temp dir removed.
const WRAPPER = '"$1" serve "$2" & p=$!; echo "$p"; cat >/dev/null; kill "$p" 2>/dev/null; wait "$p"; rm -rf "$3"; exit 0';

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const logPath = join(dir, 'registry.log');
  let auth = '';
  let htpasswdLine = '';
  if (opts.htpasswd) {
    const { stdout } = await execFileP('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
    htpasswdLine = stdout.trim() + '\n';
    await writeFile(join(dir, 'htpasswd'), htpasswdLine, { mode: 0o600 });
    auth = ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${join(dir, 'htpasswd')}`].join('\n');
  } else if (opts.authYaml) {
    auth = opts.authYaml;
  }
  if (opts.tls) {
    await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1']);
  }
  let lastErr: unknown;
  // The free port can be taken between probing and binding: retry a few times.
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, configYaml(dir, port, auth, !!opts.tls));
    const logFd = openSync(logPath, 'a');
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'registry-wrapper', REGISTRY_BIN, configPath, dir], {
      stdio: ['pipe', 'pipe', logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    closeSync(logFd);
    child.stdin!.on('error', () => undefined);
    // The registry's own stdout/stderr go to the log through fd inheritance: sh's fd 2 is the log,
    // and `serve` logs to stderr. Its pid is the first line of the wrapper's stdout.
    const pid = await new Promise<number | undefined>((resolve) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(Number(buf.slice(0, nl)));
      });
      child.once('exit', () => resolve(undefined));
    });
    if (pid !== undefined && Number.isInteger(pid)) live.add(pid);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const stopChild = async (): Promise<void> => {
      child.stdin!.end();
      const timer = setTimeout(() => {
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
    };
    try {
      await waitReady(host, child, logPath, !!opts.tls);
    } catch (err) {
      lastErr = err;
      const log = await readFile(logPath, 'utf8').catch(() => '');
      await stopChild();
      if (/address already in use/.test(log)) {
        // the wrapper removed the temp dir on its way out
        await mkdir(dir, { recursive: true });
        if (opts.htpasswd) await writeFile(join(dir, 'htpasswd'), htpasswdLine, { mode: 0o600 });
        continue;
      }
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    let stopped: Promise<void> | undefined;
    return {
      host,
      dir,
      logPath,
      ...(opts.tls ? { caFile: join(dir, 'cert.pem') } : {}),
      stop: () => {
        stopped ??= (async () => {
          await stopChild();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastErr instanceof Error ? lastErr : new Error('could not start docker-registry');
}

// ---- fault-injecting proxy ----
// An in-process HTTP proxy in front of a real registry that can answer, cut, corrupt or redirect
// chosen requests. It forwards the Host header unchanged so the registry's upload Locations point
// back at the proxy.

export interface ProxiedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export type FaultAction =
  | { kind: 'pass' }
  /** Answer without asking the registry. */
  | { kind: 'respond'; status: number; headers?: Record<string, string>; body?: Buffer | string }
  /** Forward, send headers and the first `bytes` of the body, then destroy the socket. */
  | { kind: 'reset-after'; bytes: number }
  /** Forward, send headers and the first `bytes` of the body, then send nothing more, ever. */
  | { kind: 'stall-after'; bytes: number }
  /** Forward with the last byte of the body flipped (length unchanged). */
  | { kind: 'corrupt' }
  /** Forward, then override (or with undefined, remove) response headers. */
  | { kind: 'headers'; headers: Record<string, string | undefined> }
  | { kind: 'redirect'; location: string; status?: number }
  /** Close the connection without answering. */
  | { kind: 'drop' };

/** `nth` counts earlier requests with the same method and path (query ignored), from 0. A rule
 * may edit `req.headers` to change what is forwarded. */
export type FaultRule = (req: ProxiedRequest, nth: number) => FaultAction | undefined;

export interface FaultProxy {
  host: string;
  requests: ProxiedRequest[];
  setRule(rule: FaultRule | undefined): void;
  stop(): Promise<void>;
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const requests: ProxiedRequest[] = [];
  let rule: FaultRule | undefined;
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    const entry: ProxiedRequest = { method: req.method ?? 'GET', url: req.url ?? '/', headers: { ...req.headers } };
    // The log keeps what the client sent; a rule may edit `entry.headers` before forwarding.
    requests.push({ ...entry, headers: { ...entry.headers } });
    const key = `${entry.method} ${entry.url.split('?')[0]}`;
    const nth = seen.get(key) ?? 0;
    seen.set(key, nth + 1);
    const action = rule?.(entry, nth) ?? { kind: 'pass' };
    if (action.kind === 'respond') {
      req.resume();
      const body = action.body === undefined ? Buffer.alloc(0) : Buffer.from(action.body);
      res.writeHead(action.status, { 'content-length': String(body.length), ...action.headers });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (action.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (action.kind === 'redirect') {
      req.resume();
      res.writeHead(action.status ?? 307, { location: action.location, 'content-length': '0' });
      res.end();
      return;
    }
    const up = httpRequest(
      { host: upstream.split(':')[0], port: Number(upstream.split(':')[1]), method: req.method, path: req.url, headers: entry.headers },
      (upRes) => {
        const headers = { ...upRes.headers };
        if (action.kind === 'headers') {
          for (const [k, v] of Object.entries(action.headers)) {
            if (v === undefined) delete headers[k.toLowerCase()];
            else headers[k.toLowerCase()] = v;
          }
        }
        res.writeHead(upRes.statusCode ?? 502, headers);
        if (action.kind === 'reset-after') {
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= action.bytes) return;
            const part = chunk.subarray(0, action.bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= action.bytes) {
              upRes.destroy();
              // Let the partial body reach the client, then cut the connection.
              setTimeout(() => res.socket?.destroy(), 20);
            }
          });
          upRes.on('end', () => res.socket?.destroy());
          return;
        }
        if (action.kind === 'stall-after') {
          res.flushHeaders();
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= action.bytes) return;
            const part = chunk.subarray(0, action.bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= action.bytes) upRes.destroy();
          });
          return;
        }
        if (action.kind === 'corrupt') {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => {
            const all = Buffer.concat(chunks);
            if (all.length > 0) all[all.length - 1] = all[all.length - 1]! ^ 0xff;
            res.end(all);
          });
          return;
        }
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    host: `127.0.0.1:${port}`,
    requests,
    setRule(r) {
      rule = r;
      seen.clear();
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---- token auth ----
// docker-registry configured with `auth: token`, plus a small token server that issues JWTs
// (RS256, certificate in the x5c header, trusted through the registry's rootcertbundle).

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
  const keyPath = join(certDir, 'key.pem');
  const certPath = join(certDir, 'cert.pem');
  await execFileP('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyPath, '-out', certPath, '-days', '2', '-subj', '/CN=tsbuild-test-token']);
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
