// Keep-alive connections of the registry transport, per origin: node:net for http, node:tls (loaded
// only then) for https with SNI, hostname verification, ALPN http/1.1, the extra CAs and TLS session
// resumption, as node:https's agent did. Idle sockets are reused newest first; one that the server
// closes or writes to while idle is dropped.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { createRequire } from 'node:module';
import type { SecureContext, TLSSocket } from 'node:tls';

const require = createRequire(import.meta.url);

export interface PooledSocket {
  socket: Socket;
  /** Whether it served a request before (a reset on it may be the server closing an idle connection). */
  reused: boolean;
}

export class ConnectionPool {
  private readonly idle = new Map<string, Socket[]>();
  private readonly busy = new Set<Socket>();
  private readonly sessions = new Map<string, Buffer>();
  /** The listener each idle socket has for the server's close or stray bytes. */
  private readonly droppers = new WeakMap<Socket, () => void>();
  /** null: node's default context (no extra CAs). */
  private secureContext: SecureContext | null | undefined;

  /** `extraCa`: PEM bundles trusted for https in addition to node's roots (a function: asked at the first https connection). */
  constructor(private readonly extraCa: readonly string[] | (() => readonly string[]) = []) {}

  acquire(url: URL): PooledSocket {
    const key = url.origin;
    const idle = this.idle.get(key);
    let socket = idle?.pop();
    // One the server closed, or we destroyed, whose events have not run yet is of no use.
    while (socket && (socket.destroyed || !socket.writable || socket.readableEnded)) socket = idle?.pop();
    if (socket) {
      const drop = this.droppers.get(socket)!;
      socket.off('data', drop).off('end', drop).off('close', drop).off('error', drop);
      socket.ref();
      this.busy.add(socket);
      return { socket, reused: true };
    }
    const fresh = url.protocol === 'https:' ? this.connectTls(url) : this.connectPlain(url);
    this.busy.add(fresh);
    return { socket: fresh, reused: false };
  }

  /** Hand a socket back: kept for the next request to its origin when `reusable`, else forgotten (the caller destroyed it). */
  release(url: URL, socket: Socket, reusable: boolean): void {
    this.busy.delete(socket);
    if (!reusable || socket.destroyed) {
      // A failure the kernel reports after the end is of no interest.
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const key = url.origin;
    let list = this.idle.get(key);
    if (!list) {
      list = [];
      this.idle.set(key, list);
    }
    const sockets = list;
    const drop = (): void => {
      const i = sockets.indexOf(socket);
      if (i >= 0) sockets.splice(i, 1);
      socket.destroy();
    };
    // Anything from the server while no request is out (a close, an error, stray bytes) ends the connection.
    this.droppers.set(socket, drop);
    socket.on('data', drop).on('end', drop).on('close', drop).on('error', drop);
    socket.resume();
    // An idle connection does not keep the process alive (node's agent unrefs its free sockets too).
    socket.unref();
    sockets.push(socket);
  }

  close(): void {
    for (const list of this.idle.values()) for (const s of list) s.destroy();
    this.idle.clear();
    for (const s of this.busy) s.destroy();
    this.busy.clear();
  }

  private connectPlain(url: URL): Socket {
    return netConnect({ host: hostOf(url), port: portOf(url), noDelay: true, keepAlive: true });
  }

  private connectTls(url: URL): Socket {
    const tls = require('node:tls') as typeof import('node:tls');
    if (this.secureContext === undefined) {
      const extraCa = typeof this.extraCa === 'function' ? this.extraCa() : this.extraCa;
      // One context for every connection: building one parses the ~140 root certificates.
      this.secureContext = extraCa.length > 0 ? tls.createSecureContext({ ca: [...tls.rootCertificates, ...extraCa] }) : null;
    }
    const host = hostOf(url);
    const key = url.origin;
    const socket: TLSSocket = tls.connect({
      host,
      port: portOf(url),
      // SNI for names only (RFC 6066), as node:https; the certificate is checked against the host
      // either way (tls.checkServerIdentity, the default).
      ...(isIP(host) ? {} : { servername: host }),
      ALPNProtocols: ['http/1.1'],
      ...(this.secureContext ? { secureContext: this.secureContext } : {}),
      ...(this.sessions.has(key) ? { session: this.sessions.get(key) } : {}),
    });
    socket.setNoDelay(true);
    socket.setKeepAlive(true);
    socket.on('session', (session: Buffer) => this.sessions.set(key, session));
    return socket;
  }
}

function hostOf(url: URL): string {
  // An IPv6 literal is written [::1] in URLs and bare to connect().
  return url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
}

function portOf(url: URL): number {
  return url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
}
