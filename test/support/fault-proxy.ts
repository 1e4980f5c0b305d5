// A fault-injecting HTTP proxy in front of a real docker-registry: per-request rules answer
// themselves, cut, stall, corrupt or redirect what the registry sent, or write raw bytes (framing
// the registry and node:http's server would never produce) straight to the socket.
import { createServer, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import type { Socket } from 'node:net';

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
  | { kind: 'drop' }
  /**
   * Forward, read the registry's whole answer, then let `write` put whatever bytes it likes on the
   * client's socket (node's server writes nothing more there; end or destroy it, or keep it hanging).
   */
  | { kind: 'raw'; write: (socket: Socket, upstream: UpstreamAnswer) => void };

export interface UpstreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

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
        if (action.kind !== 'raw') res.writeHead(upRes.statusCode ?? 502, headers);
        // The first `bytes` of the body, then `after` (upstream is dropped).
        const forwardUpTo = (bytes: number, after: () => void): void => {
          let sent = 0;
          upRes.on('data', (chunk: Buffer) => {
            if (sent >= bytes) return;
            const part = chunk.subarray(0, bytes - sent);
            sent += part.length;
            res.write(part);
            if (sent >= bytes) {
              upRes.destroy();
              after();
            }
          });
        };
        if (action.kind === 'reset-after') {
          // Let the partial body reach the client, then cut the connection.
          forwardUpTo(action.bytes, () => setTimeout(() => res.socket?.destroy(), 20));
          upRes.on('end', () => res.socket?.destroy());
          return;
        }
        if (action.kind === 'stall-after') {
          res.flushHeaders();
          forwardUpTo(action.bytes, () => undefined);
          return;
        }
        if (action.kind === 'raw') {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () => action.write(req.socket, { status: upRes.statusCode ?? 502, headers: upRes.headers, body: Buffer.concat(chunks) }));
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
  // No idle timeout for kept-alive client connections (node's default closes them after 5 s): a close
  // that crosses a client's next request on a loaded machine fails a POST or PATCH once more, and
  // tests count those.
  server.keepAliveTimeout = 0;
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
