// The transport's HTTP/1.1 over real sockets, against raw TCP servers that answer exactly the bytes a
// test needs (framing node:http's server would never send, closes at awkward moments); the registry
// itself is exercised in test/integration and test/e2e.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpTransport } from './http-transport.js';
import { closeBody, readCapped } from './http-body.js';

interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** Connection number (from 0) and request number on it (from 0). */
  connection: number;
  index: number;
}

/**
 * A TCP server that parses request heads (and Content-Length or chunked bodies, into `body`) and hands each
 * to `answer`, which writes whatever it likes to the socket.
 */
async function rawServer(
  answer: (sock: Socket, req: RawRequest & { body: Buffer }) => void,
): Promise<{ server: Server; base: string; connections: () => number }> {
  let connections = 0;
  const server = createServer((sock) => {
    const connection = connections++;
    let index = 0;
    let buf = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
        const [method = '', path = ''] = lines[0]!.split(' ');
        const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
        let rest = buf.subarray(end + 4);
        let body = Buffer.alloc(0);
        if (headers['transfer-encoding'] === 'chunked') {
          const text = rest.toString('latin1');
          const last = text.indexOf('0\r\n\r\n');
          if (last < 0 || !/^(?:[0-9a-f]+\r\n[\s\S]*?\r\n)*0\r\n\r\n/.test(text)) return;
          const parts: Buffer[] = [];
          let at = 0;
          for (;;) {
            const nl = text.indexOf('\r\n', at);
            const size = Number.parseInt(text.slice(at, nl), 16);
            if (size === 0) break;
            parts.push(rest.subarray(nl + 2, nl + 2 + size));
            at = nl + 2 + size + 2;
          }
          body = Buffer.concat(parts);
          rest = rest.subarray(at + 5);
        } else {
          const length = Number(headers['content-length'] ?? 0);
          if (rest.length < length) return;
          body = rest.subarray(0, length);
          rest = rest.subarray(length);
        }
        buf = rest;
        answer(sock, { method, path, headers, connection, index: index++, body });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections };
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

const opts = { method: 'GET', headers: {}, headersTimeout: 60_000, bodyTimeout: 60_000 };

test('chunked answers with extensions and trailers are read whole and keep their connection; 204 and 304 have no body', async () => {
  const s = await rawServer((sock, req) => {
    if (req.path === '/chunked') sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n');
    else sock.write(`HTTP/1.1 ${req.path === '/none' ? '204 No Content' : '304 Not Modified'}\r\nContent-Length: 99\r\n\r\n`);
  });
  const t = new HttpTransport();
  try {
    for (const path of ['/chunked', '/none', '/same', '/chunked']) {
      const res = await t.request(`${s.base}${path}`, opts);
      assert.equal((await readCapped(res.body, 100, path)).toString(), path === '/chunked' ? 'abcde' : '');
    }
    assert.equal(s.connections(), 1);
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('a body delimited by the close is read to the end and its connection is not reused', async () => {
  const s = await rawServer((sock) => {
    sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ');
    setTimeout(() => sock.end('part two'), 20);
  });
  const t = new HttpTransport();
  try {
    for (let i = 0; i < 2; i++) {
      const res = await t.request(`${s.base}/x`, opts);
      assert.equal((await readCapped(res.body, 100, 'x')).toString(), 'part one, part two');
    }
    assert.equal(s.connections(), 2);
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('1xx answers before the real one are skipped', async () => {
  const s = await rawServer((sock) =>
    sock.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok'),
  );
  const t = new HttpTransport();
  try {
    const res = await t.request(`${s.base}/x`, { ...opts, method: 'PUT', body: Buffer.from('data') });
    assert.equal(res.statusCode, 201);
    assert.equal((await readCapped(res.body, 10, 'x')).toString(), 'ok');
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('oversized headers, garbage and a close before or inside the answer fail with the codes node:http used', async () => {
  const s = await rawServer((sock, req) => {
    if (req.path === '/huge') sock.write(`HTTP/1.1 200 OK\r\n${'X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n'.repeat(1000)}\r\n`);
    else if (req.path === '/garbage') sock.write('SSH-2.0-OpenSSH_9.2\r\n\r\n');
    else if (req.path === '/hangup') sock.end();
    else sock.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this');
  });
  const t = new HttpTransport();
  try {
    await assert.rejects(t.request(`${s.base}/huge`, opts), { code: 'HPE_HEADER_OVERFLOW' });
    await assert.rejects(t.request(`${s.base}/garbage`, opts), { code: 'HPE_INVALID_CONSTANT' });
    await assert.rejects(t.request(`${s.base}/hangup`, opts), { code: 'ECONNRESET', message: 'socket hang up' });
    const cut = await t.request(`${s.base}/cut`, opts);
    await assert.rejects(readCapped(cut.body, 1000, 'x'), { code: 'ECONNRESET', message: 'aborted' });
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('a kept-alive connection the server closed meanwhile: a GET is sent again on a new one, a POST fails', async () => {
  // The server answers the first request of every connection and closes on the second without a word
  // (what a registry behind a proxy with a short idle timeout does when the request crosses the close).
  const s = await rawServer((sock, req) => {
    if (req.index > 0) sock.destroy();
    else sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
  });
  const t = new HttpTransport();
  try {
    for (const method of ['GET', 'HEAD', 'GET']) {
      const res = await t.request(`${s.base}/x`, { ...opts, method });
      assert.equal(res.statusCode, 200);
      closeBody(res.body);
      await sleep(5);
    }
    assert.equal(s.connections(), 3, 'each request after the first needed a second connection');
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, method: 'POST', body: 'x' }), { code: 'ECONNRESET' });
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('an answer that comes while the upload is still being sent is handed over, as node:http did', async () => {
  let received = 0;
  const s = await rawServer(() => undefined);
  s.server.removeAllListeners('connection');
  s.server.on('connection', (sock: Socket) => {
    sock.on('error', () => undefined);
    sock.once('data', (d: Buffer) => {
      received += d.length;
      // 413 after the first bytes, then the connection is closed.
      sock.end('HTTP/1.1 413 Payload Too Large\r\nContent-Length: 8\r\nConnection: close\r\n\r\ntoo big!');
    });
  });
  let produced = 0;
  const upload = new Readable({
    read() {
      // An endless body: it ends only because the transport stops reading it.
      produced += 65536;
      setImmediate(() => this.push(Buffer.alloc(65536)));
    },
  });
  const t = new HttpTransport();
  try {
    const res = await t.request(`${s.base}/upload`, { ...opts, method: 'PUT', headers: { 'content-length': String(1 << 30) }, body: upload });
    assert.equal(res.statusCode, 413);
    assert.equal((await readCapped(res.body, 100, 'x')).toString(), 'too big!');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(upload.destroyed, 'the upload source is closed');
    assert.ok(received > 0 && produced < 1 << 30);
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('a stream without a length goes chunked; a body that contradicts its Content-Length is refused', async () => {
  const s = await rawServer((sock, req) => sock.write(`HTTP/1.1 201 Created\r\nContent-Length: ${req.body.length}\r\n\r\n${req.body.toString('latin1')}`));
  const t = new HttpTransport();
  try {
    const res = await t.request(`${s.base}/x`, { ...opts, method: 'PATCH', body: Readable.from([Buffer.from('one,'), Buffer.from('two')]) });
    assert.equal((await readCapped(res.body, 100, 'x')).toString(), 'one,two');
    const short = Readable.from([Buffer.from('abc')]);
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, method: 'PUT', headers: { 'content-length': '10' }, body: short }), {
      code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
    });
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, method: 'PUT', headers: { 'content-length': '1' }, body: Buffer.from('abc') }), {
      code: 'ERR_HTTP_CONTENT_LENGTH_MISMATCH',
    });
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('header values that would break the request line are refused before anything is sent', async () => {
  const s = await rawServer((sock) => sock.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
  const t = new HttpTransport();
  try {
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, headers: { authorization: 'Bearer a\r\nX-Injected: 1' } }), { code: 'ERR_INVALID_CHAR' });
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, headers: { 'bad name': 'x' } }), { code: 'ERR_INVALID_HTTP_TOKEN' });
    assert.equal(s.connections(), 0);
  } finally {
    t.close();
    await stop(s.server);
  }
});

test('an abort before the answer rejects; one during the body ends the body and its connection', async () => {
  const s = await rawServer((sock, req) => {
    if (req.path === '/slow-body') sock.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc');
  });
  const t = new HttpTransport();
  try {
    const early = new AbortController();
    const pending = t.request(`${s.base}/never`, { ...opts, signal: early.signal });
    setTimeout(() => early.abort(), 20);
    await assert.rejects(pending, { name: 'AbortError' });
    const late = new AbortController();
    const res = await t.request(`${s.base}/slow-body`, { ...opts, signal: late.signal });
    const reading = readCapped(res.body, 100, 'x');
    late.abort();
    await assert.rejects(reading, { name: 'AbortError' });
    await assert.rejects(t.request(`${s.base}/x`, { ...opts, signal: late.signal }), { name: 'AbortError' });
  } finally {
    t.close();
    await stop(s.server);
  }
});
