// HttpTransport against small in-process servers that misbehave on purpose (silence, slow readers,
// redirects); the registry itself is exercised in test/integration and test/e2e.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { BODY_TIMEOUT, HEADERS_TIMEOUT, HttpTransport } from './http-transport.js';
import { RedirectRefusedError, guardRedirect } from './redirect-guard.js';
import { closeBody, readCapped } from './http-body.js';

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; base: string; connections: () => number }> {
  const server = createServer(handler);
  let connections = 0;
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, connections: () => connections };
}

function stop(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const opts = { method: 'GET', headers: {}, headersTimeout: 60_000, bodyTimeout: 60_000 };

test('HEAD and fully received answers keep their connection for the next request', async () => {
  const s = await serve((req, res) => {
    res.setHeader('content-length', req.method === 'HEAD' ? '157' : '2');
    res.end(req.method === 'HEAD' ? undefined : 'ok');
  });
  const t = new HttpTransport();
  try {
    for (const method of ['HEAD', 'HEAD', 'POST']) {
      const res = await t.request(`${s.base}/x`, { ...opts, method });
      closeBody(res.body);
      await sleep(10);
    }
    const last = await t.request(`${s.base}/x`, opts);
    assert.equal((await readCapped(last.body, 10, 'x')).toString(), 'ok');
    assert.equal(s.connections(), 1);
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('a silent body fails with the body deadline; a reader that pauses is not a silent server', async () => {
  const s = await serve((req, res) => {
    res.setHeader('content-length', '8');
    if (req.url === '/silent') res.write('half');
    else res.end('complete');
  });
  const t = new HttpTransport();
  try {
    const silent = await t.request(`${s.base}/silent`, { ...opts, bodyTimeout: 200 });
    await assert.rejects(readCapped(silent.body, 100, 'x'), { code: BODY_TIMEOUT });
    const slowReader = await t.request(`${s.base}/complete`, { ...opts, bodyTimeout: 100 });
    slowReader.body.pause();
    await sleep(400);
    assert.equal((await readCapped(slowReader.body, 100, 'x')).toString(), 'complete');
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('the headers deadline counts from the last byte sent: a slow upload passes, a server that never answers fails', async () => {
  const s = await serve((req, res) => {
    if (req.url === '/never') return;
    let n = 0;
    req.on('data', (c: Buffer) => (n += c.length));
    req.on('end', () => res.end(String(n)));
  });
  const t = new HttpTransport();
  try {
    await assert.rejects(t.request(`${s.base}/never`, { ...opts, headersTimeout: 200 }), { code: HEADERS_TIMEOUT });
    // The upload lasts longer than the deadline (sleeps only get longer on a loaded machine), so a
    // deadline counted from the request's start fails it. The in-process server's answer after the
    // last byte must come within the deadline: 5 s, which only a frozen test process reaches.
    const deadline = 5000;
    const body = Readable.from(
      (async function* () {
        for (let i = 0; i < 25; i++) {
          await sleep(deadline / 20);
          yield Buffer.alloc(1000, i);
        }
      })(),
    );
    const res = await t.request(`${s.base}/upload`, { ...opts, method: 'PUT', headers: { 'content-length': '25000' }, body, headersTimeout: deadline });
    assert.equal((await readCapped(res.body, 100, 'x')).toString(), '25000');
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('redirects: credentials stay with their origin, a 303 after a POST is a GET, other schemes are refused', async () => {
  const storage = await serve((req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, authorization: req.headers.authorization ?? null, length: req.headers['content-length'] ?? null }));
  });
  const registry = await serve((req, res) => {
    const to: Record<string, [number, string]> = {
      '/blob': [307, `${storage.base}/signed`],
      '/same': [302, '/here'],
      '/form': [303, `${storage.base}/done`],
      '/file': [302, 'file:///etc/passwd'],
    };
    const hop = to[req.url ?? ''];
    if (hop) {
      res.writeHead(hop[0], { location: hop[1] });
      res.end();
      return;
    }
    res.end(JSON.stringify({ authorization: req.headers.authorization ?? null }));
  });
  const t = new HttpTransport();
  const read = async (path: string, extra: Partial<typeof opts> & { body?: string } = {}): Promise<Record<string, unknown>> => {
    const res = await t.request(`${registry.base}${path}`, {
      ...opts,
      headers: { authorization: 'Bearer secret' },
      maxRedirections: 5,
      credentialOrigin: registry.base,
      ...extra,
    });
    return JSON.parse((await readCapped(res.body, 1000, path)).toString()) as Record<string, unknown>;
  };
  try {
    assert.equal((await read('/blob')).authorization, null, 'the storage host gets no credentials');
    assert.equal((await read('/same')).authorization, 'Bearer secret', 'the registry keeps them');
    assert.deepEqual(await read('/form', { method: 'POST', body: 'grant=x' }), { method: 'GET', authorization: null, length: null });
    await assert.rejects(read('/file'), RedirectRefusedError);
    assert.throws(() => guardRedirect(new URL('http://storage.example/x'), 'https://registry.example'), /from https to plain http/);
  } finally {
    t.close();
    await stop(storage.server);
    await stop(registry.server);
  }
});

test('a server that sends a body after a HEAD answer costs its connection, not an error (why undici closed after every HEAD)', async () => {
  let connections = 0;
  const server = createNetServer((sock) => {
    connections++;
    let buf = '';
    sock.on('error', () => undefined);
    sock.on('data', (d) => {
      buf += d.toString('latin1');
      for (let i = buf.indexOf('\r\n\r\n'); i >= 0; i = buf.indexOf('\r\n\r\n')) {
        const method = buf.slice(0, buf.indexOf(' '));
        buf = buf.slice(i + 4);
        sock.write(method === 'HEAD' ? 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello' : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const t = new HttpTransport();
  try {
    for (const method of ['HEAD', 'HEAD', 'GET']) {
      const res = await t.request(`${base}/x`, { ...opts, method });
      assert.equal(res.statusCode, 200);
      assert.equal((await readCapped(res.body, 10, 'x')).toString(), method === 'HEAD' ? '' : 'ok');
      await sleep(10);
    }
    assert.equal(connections, 3, 'each HEAD answer with trailing bytes loses its connection');
  } finally {
    t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a TLS handshake that never completes ends at the headers deadline; 50 such failures leave no socket open', async () => {
  const open = new Set<import('node:net').Socket>();
  // Accepts TCP and says nothing: neither a ServerHello nor an HTTP answer ever comes.
  const server = createNetServer((sock) => {
    open.add(sock);
    // Read (and drop) what comes, so the client's close is seen.
    sock.resume();
    sock.on('error', () => undefined);
    sock.on('close', () => open.delete(sock));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const t = new HttpTransport();
  try {
    for (let i = 0; i < 50; i++) {
      const scheme = i % 2 === 0 ? 'https' : 'http';
      await assert.rejects(t.request(`${scheme}://127.0.0.1:${port}/v2/`, { ...opts, headersTimeout: 20 }), { code: HEADERS_TIMEOUT });
    }
    // The client destroyed every socket; the server sees each close soon after (this waits for that,
    // it does not time it: a leaked socket would keep the test waiting until its hang guard).
    while (open.size > 0) await sleep(10);
  } finally {
    t.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('a body that trickles a byte at a time fails at the body deadline like a silent one (slow-loris)', async () => {
  // 200 bytes, one per 50 ms: at least 10 s to send, 25 body deadlines; the old rule (any byte
  // restarts the deadline) read it to the end.
  const s = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': '200' });
    let sent = 0;
    const drip = setInterval(() => {
      if (res.destroyed || sent === 200) return clearInterval(drip);
      sent++;
      res.write('x');
    }, 50);
    res.on('close', () => clearInterval(drip));
  });
  const t = new HttpTransport();
  try {
    const res = await t.request(`${s.base}/drip`, { ...opts, bodyTimeout: 400 });
    await assert.rejects(readCapped(res.body, 1000, 'x'), (err: Error & { code?: string }) => {
      assert.equal(err.code, BODY_TIMEOUT);
      assert.match(err.message, /only \d+ bytes of body data for 400 ms/);
      return true;
    });
  } finally {
    t.close();
    await stop(s.server);
  }
});
