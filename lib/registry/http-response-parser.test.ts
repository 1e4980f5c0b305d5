// ResponseParser on its own: responses fed whole, byte by byte and split at every offset must parse
// the same; malformed framing fails with llhttp's codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_HEADER_BYTES, ResponseParser, type ResponseHead } from './http-response-parser.js';

interface Parsed {
  heads: ResponseHead[];
  body: string;
  complete: boolean;
  rest: string | undefined;
}

function parse(method: string, pieces: Buffer[], end = false): Parsed {
  const out: Parsed = { heads: [], body: '', complete: false, rest: undefined };
  const parser = new ResponseParser(method, {
    onHead: (h) => out.heads.push(h),
    onBody: (c) => (out.body += c.toString('latin1')),
    onComplete: (rest) => {
      out.complete = true;
      out.rest = rest?.toString('latin1');
    },
  });
  for (const p of pieces) parser.execute(p);
  if (end) parser.end();
  return out;
}

/** Every way of cutting `text` in two, and byte by byte. */
function splits(text: string): Buffer[][] {
  const b = Buffer.from(text, 'latin1');
  const ways: Buffer[][] = [[b], [...b].map((x) => Buffer.from([x]))];
  for (let i = 1; i < b.length; i++) ways.push([b.subarray(0, i), b.subarray(i)]);
  return ways;
}

test('a chunked body with extensions and trailers parses the same however the bytes arrive', () => {
  const text =
    'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
    '5;name=value;quoted="a;b"\r\nhello\r\n1A\r\n, abcdefghijklmnopqrstuvwx\r\n0;last\r\nX-Checksum: abc\r\nX-More: 1\r\n\r\n';
  for (const pieces of splits(text)) {
    const r = parse('GET', pieces);
    assert.equal(r.body, 'hello, abcdefghijklmnopqrstuvwx');
    assert.equal(r.complete, true);
    assert.equal(r.rest, undefined);
    assert.equal(r.heads.length, 1);
    assert.equal(r.heads[0]!.headers['content-type'], 'text/plain');
  }
});

test('Content-Length frames the body; bytes beyond it are handed back as rest', () => {
  for (const pieces of splits('HTTP/1.1 201 Created\r\nContent-Length: 4\r\nLocation: /x\r\n\r\nbodyHTTP')) {
    const r = parse('PUT', pieces);
    assert.equal(r.body, 'body');
    assert.equal(r.complete, true);
    assert.equal(r.heads[0]!.statusCode, 201);
    assert.equal(r.heads[0]!.headers.location, '/x');
    // The rest may be cut across pieces; only the first fragment is reported, which is all it takes.
    assert.ok(r.rest === undefined ? pieces.length > 1 : 'HTTP'.startsWith(r.rest), String(r.rest));
  }
});

test('HEAD, 204 and 304 answers have no body whatever their headers say; 1xx answers are skipped', () => {
  const head = parse('HEAD', [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 157\r\n\r\n')]);
  assert.deepEqual([head.complete, head.body, head.heads[0]!.headers['content-length']], [true, '', '157']);
  const noContent = parse('GET', [Buffer.from('HTTP/1.1 204 No Content\r\nTransfer-Encoding: chunked\r\n\r\n')]);
  assert.deepEqual([noContent.complete, noContent.body], [true, '']);
  for (const pieces of splits('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')) {
    const r = parse('PUT', pieces);
    assert.deepEqual([r.heads.length, r.heads[0]!.statusCode, r.body, r.complete], [1, 200, 'ok', true]);
  }
});

test('a body without framing runs to the close; a close anywhere else is a reset', () => {
  const r = parse('GET', [Buffer.from('HTTP/1.1 200 OK\r\n\r\nall of '), Buffer.from('it')], true);
  assert.deepEqual([r.body, r.complete, r.heads[0]!.keepAlive], ['all of it', true, true]);
  assert.throws(() => parse('GET', [Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')], true), { code: 'ECONNRESET', message: 'aborted' });
  assert.throws(() => parse('GET', [Buffer.from('HTTP/1.1 200 OK\r\nContent-')], true), { code: 'ECONNRESET', message: 'socket hang up' });
  assert.throws(() => parse('GET', [], true), { code: 'ECONNRESET', message: 'socket hang up' });
});

test('headers: names case-insensitive, repeats of WWW-Authenticate and Link kept, Connection honoured', () => {
  const r = parse('GET', [
    Buffer.from(
      'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm="https://a/token"\r\nwww-authenticate: Basic realm="x"\r\n' +
        'Link: </v2/r/tags/list?n=1&last=a>; rel="next"\r\nLINK: <b>; rel="x"\r\nContent-Length: 0\r\nConnection: close\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n',
    ),
  ]);
  const h = r.heads[0]!;
  assert.equal(h.headers['www-authenticate'], 'Bearer realm="https://a/token", Basic realm="x"');
  assert.equal(h.headers.link, '</v2/r/tags/list?n=1&last=a>; rel="next", <b>; rel="x"');
  assert.deepEqual(h.headers['set-cookie'], ['a=1', 'b=2']);
  assert.equal(h.keepAlive, false);
  const odd = parse('GET', [Buffer.from('HTTP/1.1 200 OK\r\nConstructor: a\r\n__proto__: b\r\nContent-Length: 0\r\n\r\n')]).heads[0]!.headers;
  assert.deepEqual([odd.constructor, Object.getOwnPropertyDescriptor(odd, '__proto__')?.value], ['a', 'b']);
  assert.equal(parse('GET', [Buffer.from('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')]).heads[0]!.keepAlive, false);
  assert.equal(parse('GET', [Buffer.from('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')]).heads[0]!.keepAlive, true);
});

test('malformed or hostile framing fails with a parse error code', () => {
  const fails = (text: string, code: string): void => assert.throws(() => parse('GET', [Buffer.from(text, 'latin1')]), { code }, text);
  fails('SSH-2.0-OpenSSH_9.2\r\n\r\n', 'HPE_INVALID_CONSTANT');
  fails('HTTP/1.1 2000 OK\r\n\r\n', 'HPE_INVALID_CONSTANT');
  fails('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH');
  fails('HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH');
  fails('HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n', 'HPE_INVALID_CONTENT_LENGTH');
  fails('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n', 'HPE_UNEXPECTED_CONTENT_LENGTH');
  fails('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE');
  fails('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff\r\n', 'HPE_INVALID_CHUNK_SIZE');
  fails('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n', 'HPE_STRICT');
  fails(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;${'x'.repeat(5000)}`, 'HPE_INVALID_CHUNK_SIZE');
  fails('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN');
  fails('HTTP/1.1 200 OK\r\nX: a\x00b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN');
  fails('HTTP/1.1 101 Switching Protocols\r\n\r\n', 'HPE_INVALID_STATUS');
});

test('the header block is capped, also when it arrives a byte at a time', () => {
  const big = `HTTP/1.1 200 OK\r\nX-Big: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`;
  assert.throws(() => parse('GET', [Buffer.from(big)]), { code: 'HPE_HEADER_OVERFLOW' });
  assert.throws(
    () =>
      parse(
        'GET',
        [...Buffer.from(big)].map((x) => Buffer.from([x])),
      ),
    { code: 'HPE_HEADER_OVERFLOW' },
  );
  const trailers = `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'a'.repeat(MAX_HEADER_BYTES)}\r\n\r\n`;
  assert.throws(() => parse('GET', [Buffer.from(trailers)]), { code: 'HPE_HEADER_OVERFLOW' });
  // Many small headers add up the same way.
  const many = `HTTP/1.1 200 OK\r\n${'X-A: b\r\n'.repeat(MAX_HEADER_BYTES / 8)}\r\n`;
  assert.throws(() => parse('GET', [Buffer.from(many)]), { code: 'HPE_HEADER_OVERFLOW' });
});
