// TLS as the transport opens it (connection-pool.ts): SNI and ALPN sent, the certificate checked
// against the host named in the URL, extra CAs trusted; against an in-process TLS server with a
// throwaway certificate (the registry over TLS is exercised in test/e2e/registry-tls).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import { createServer as createNetServer } from 'node:net';
import { ConnectionPool } from './connection-pool.js';
import { selfSignedCert } from '../../test/support/self-signed-cert.js';
import { HttpTransport } from './http-transport.js';
import { readCapped } from './http-body.js';

describe('https through the transport', () => {
  let dir: string;
  let server: Server;
  let port: number;
  /** The address "localhost" resolved to, for a URL that names the server by its IP. */
  let ip: string;
  let cert: string;
  const seen: Array<{ servername: string | false | null; alpn: string | false | null }> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tsbuild-pool-tls-'));
    const files = await selfSignedCert(dir, '/CN=localhost', 'DNS:localhost');
    cert = await readFile(files.certPath, 'utf8');
    server = createServer({ key: await readFile(files.keyPath), cert, ALPNProtocols: ['http/1.1'] }, (sock: TLSSocket) => {
      seen.push({ servername: sock.servername, alpn: sock.alpnProtocol });
      sock.on('error', () => undefined);
      sock.on('data', () => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecure'));
    });
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve));
    const address = server.address() as AddressInfo;
    port = address.port;
    ip = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const opts = { method: 'GET', headers: {}, headersTimeout: 60_000, bodyTimeout: 60_000 };

  test('a certificate for the requested name, from a trusted extra CA, is accepted; SNI and ALPN are sent; the connection is kept', async () => {
    // The certificate names only "localhost" (the server listens on whatever address that resolves to).
    const t = new HttpTransport(() => [cert]);
    try {
      for (let i = 0; i < 2; i++) {
        const res = await t.request(`https://localhost:${port}/v2/`, opts);
        assert.equal((await readCapped(res.body, 100, 'x')).toString(), 'secure');
      }
      assert.deepEqual(seen, [{ servername: 'localhost', alpn: 'http/1.1' }]);
    } finally {
      t.close();
    }
  });

  test('the same certificate reached under another name fails verification; an untrusted one fails without the extra CA', async () => {
    const t = new HttpTransport([cert]);
    try {
      await assert.rejects(t.request(`https://${ip}:${port}/v2/`, opts), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
    } finally {
      t.close();
    }
    const plain = new HttpTransport();
    try {
      await assert.rejects(plain.request(`https://localhost:${port}/v2/`, opts), (err: NodeJS.ErrnoException) =>
        /SELF_SIGNED|UNABLE_TO_VERIFY/.test(err.code ?? ''),
      );
    } finally {
      plain.close();
    }
  });
});

test('an idle socket destroyed before its close event ran is not handed out again', async () => {
  const server = createNetServer((sock) => sock.on('error', () => undefined));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  const pool = new ConnectionPool();
  try {
    const first = pool.acquire(url);
    await new Promise((resolve) => first.socket.once('connect', resolve));
    pool.release(url, first.socket, true);
    const again = pool.acquire(url);
    assert.equal(again.reused, true, 'a live idle socket is reused');
    pool.release(url, again.socket, true);
    // destroy() marks the socket at once; its 'close' (which removes it from the pool) comes later.
    again.socket.destroy();
    const next = pool.acquire(url);
    assert.equal(next.reused, false);
    assert.notEqual(next.socket, again.socket);
  } finally {
    pool.close();
    await new Promise((resolve) => server.close(resolve));
  }
});
