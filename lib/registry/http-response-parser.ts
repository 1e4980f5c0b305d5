// An incremental HTTP/1.1 response parser for the registry transport (http-exchange.ts): status
// line, headers, and the body framed by Content-Length, chunked coding or the end of the connection.
// Every registry is untrusted input: the header block and chunk lines are capped, lengths validated,
// and anything malformed fails with llhttp's error codes (HPE_*), the ones node:http reported before.
// Body bytes are handed on as views of the socket's buffers: nothing is copied or collected.
import type { IncomingHttpHeaders } from 'node:http';

/** node:http's default --max-http-header-size. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** A chunk-size line with its extensions, and the trailer block, are capped as well. */
const MAX_CHUNK_LINE = 4 * 1024;

export interface ResponseHead {
  statusCode: number;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  /** Whether the server lets the connection serve another request (HTTP/1.1 without `Connection: close`). */
  keepAlive: boolean;
}

export interface ParserEvents {
  /** The final (non-1xx) response head. */
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
  /** The response is complete; `rest` holds bytes the server sent beyond it (the connection is then unusable). */
  onComplete(rest: Buffer | undefined): void;
}

export function parseError(code: string, message: string): Error {
  return Object.assign(new Error(`Parse Error: ${message}`), { code });
}

// node:http keeps the first value of these and drops repeats; every other header is joined with ", "
// (so repeated WWW-Authenticate and Link values are all kept), set-cookie is a list.
const FIRST_WINS = new Set([
  'age',
  'authorization',
  'content-length',
  'content-type',
  'etag',
  'expires',
  'from',
  'host',
  'if-modified-since',
  'if-unmodified-since',
  'last-modified',
  'location',
  'max-forwards',
  'proxy-authorization',
  'referer',
  'retry-after',
  'server',
  'user-agent',
]);
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const BAD_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: (.*))?$/;

type State = 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-end' | 'trailers' | 'close' | 'done';

export class ResponseParser {
  private state: State = 'head';
  /** Header bytes of a head (or chunk line, trailer block) that spans socket reads, as latin1. */
  private pending = '';
  private remaining = 0;
  private head: ResponseHead | undefined;

  /** `method`: a HEAD answer has no body whatever its Content-Length says. */
  constructor(
    private readonly method: string,
    private readonly events: ParserEvents,
  ) {}

  /** Whether a head has been seen (errors before it are connection failures, after it body failures). */
  get started(): boolean {
    return this.head !== undefined || this.pending.length > 0;
  }

  get complete(): boolean {
    return this.state === 'done';
  }

  /** Feed bytes from the socket; throws a coded parse error. */
  execute(data: Buffer): void {
    let at = 0;
    while (at < data.length) {
      switch (this.state) {
        case 'head': {
          const end = this.lineBlockEnd(data, at, MAX_HEADER_BYTES, 'HPE_HEADER_OVERFLOW', 'Header overflow');
          if (end < 0) return;
          const block = this.pending;
          this.pending = '';
          at = end;
          this.onHeadBlock(block);
          // A HEAD, 204, 304 or Content-Length: 0 answer ends with its head.
          if ((this.state as State) === 'length' && this.remaining === 0) this.finish(data, at);
          break;
        }
        case 'length': {
          const n = Math.min(this.remaining, data.length - at);
          this.remaining -= n;
          this.events.onBody(n === data.length ? data : data.subarray(at, at + n));
          at += n;
          if (this.remaining === 0) this.finish(data, at);
          break;
        }
        case 'chunk-size': {
          const end = this.lineEnd(data, at);
          if (end < 0) return;
          at = end;
          this.onChunkSize(this.takeLine());
          break;
        }
        case 'chunk-data': {
          const n = Math.min(this.remaining, data.length - at);
          this.remaining -= n;
          this.events.onBody(data.subarray(at, at + n));
          at += n;
          if (this.remaining === 0) this.state = 'chunk-end';
          break;
        }
        case 'chunk-end': {
          const end = this.lineEnd(data, at);
          if (end < 0) return;
          at = end;
          if (this.takeLine() !== '') throw parseError('HPE_STRICT', 'Expected LF after chunk data');
          this.state = 'chunk-size';
          break;
        }
        case 'trailers': {
          // Trailers are read and dropped (registries send none that matter); capped like the head.
          const end = this.lineBlockEnd(data, at, MAX_HEADER_BYTES, 'HPE_HEADER_OVERFLOW', 'Header overflow');
          if (end < 0) return;
          this.pending = '';
          this.finish(data, end);
          return;
        }
        case 'close':
          this.events.onBody(at === 0 ? data : data.subarray(at));
          return;
        case 'done':
          // Bytes after a complete response are the caller's problem (onComplete's rest).
          return;
      }
    }
  }

  /** The server closed the connection: completes a body delimited by the close, else throws. */
  end(): void {
    if (this.state === 'close') {
      this.state = 'done';
      this.events.onComplete(undefined);
      return;
    }
    if (this.state !== 'done') throw Object.assign(new Error(this.head ? 'aborted' : 'socket hang up'), { code: 'ECONNRESET' });
  }

  private finish(data: Buffer, at: number): void {
    this.state = 'done';
    this.events.onComplete(at < data.length ? data.subarray(at) : undefined);
  }

  /**
   * Collect a line into `pending` (CRLF or a bare LF ends it); returns the offset after it, or -1 when
   * more data is needed.
   */
  private lineEnd(data: Buffer, at: number): number {
    const nl = data.indexOf(10, at);
    const stop = nl < 0 ? data.length : nl + 1;
    if (this.pending.length + (stop - at) > MAX_CHUNK_LINE) throw parseError('HPE_INVALID_CHUNK_SIZE', 'Chunk size line too long');
    this.pending += data.toString('latin1', at, stop);
    return nl < 0 ? -1 : stop;
  }

  private takeLine(): string {
    const line = this.pending.replace(/\r?\n$/, '');
    this.pending = '';
    return line;
  }

  /** Collect a block of lines ended by an empty line; returns the offset after it, or -1. */
  private lineBlockEnd(data: Buffer, at: number, limit: number, code: string, what: string): number {
    for (let from = at; ; ) {
      const nl = data.indexOf(10, from);
      if (nl < 0) {
        this.pending += data.toString('latin1', from);
        if (this.pending.length > limit) throw parseError(code, what);
        return -1;
      }
      this.pending += data.toString('latin1', from, nl + 1);
      if (this.pending.length > limit) throw parseError(code, what);
      from = nl + 1;
      const p = this.pending;
      // An empty line: the block is "\r\n"/"\n" alone, or ends with "\n\r\n"/"\n\n".
      if (p === '\r\n' || p === '\n') {
        // Leading empty lines before a status line are tolerated, as llhttp does.
        if (this.state === 'head') {
          this.pending = '';
          continue;
        }
        return from;
      }
      if (p.endsWith('\n\n') || p.endsWith('\n\r\n')) return from;
    }
  }

  private onHeadBlock(block: string): void {
    const lines = block.split(/\r?\n/);
    const status = STATUS_LINE.exec(lines[0] ?? '');
    if (!status) throw parseError('HPE_INVALID_CONSTANT', 'Expected HTTP/');
    const statusCode = Number(status[2]);
    if (statusCode < 100) throw parseError('HPE_INVALID_STATUS', 'Invalid status code');
    // No prototype: a header named like an Object.prototype member ("constructor", "__proto__") is data.
    const headers: IncomingHttpHeaders = Object.create(null) as IncomingHttpHeaders;
    const raw = headers as Record<string, string | string[] | undefined>;
    const lengths: string[] = [];
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (line === '') continue;
      const colon = line.indexOf(':');
      const name = colon > 0 ? line.slice(0, colon) : '';
      if (!TOKEN.test(name)) throw parseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header token');
      const value = line.slice(colon + 1).trim();
      if (BAD_VALUE.test(value)) throw parseError('HPE_INVALID_HEADER_TOKEN', 'Invalid header value char');
      const key = name.toLowerCase();
      if (key === 'content-length') lengths.push(value);
      const had = raw[key];
      if (had === undefined) raw[key] = key === 'set-cookie' ? [value] : value;
      else if (key === 'set-cookie') (had as string[]).push(value);
      else if (!FIRST_WINS.has(key)) raw[key] = `${had as string}, ${value}`;
    }
    if (statusCode < 200) {
      // 1xx: an interim answer (100 Continue, 103 Early Hints); the real one follows. A 101 would
      // switch protocols, which no registry request asks for.
      if (statusCode === 101) throw parseError('HPE_INVALID_STATUS', 'Unexpected 101 Switching Protocols');
      return;
    }
    const connection = (headers.connection ?? '').toLowerCase();
    const http10 = status[1] === '0';
    const keepAlive = http10 ? /\bkeep-alive\b/.test(connection) : !/\bclose\b/.test(connection);
    this.head = { statusCode, statusMessage: status[3] ?? '', headers, keepAlive };
    this.frameBody(statusCode, headers, lengths);
    this.events.onHead(this.head);
  }

  private frameBody(statusCode: number, headers: IncomingHttpHeaders, lengths: string[]): void {
    const te = headers['transfer-encoding'];
    if (this.method === 'HEAD' || statusCode === 204 || statusCode === 304) {
      this.state = 'length';
      this.remaining = 0;
      return;
    }
    if (te !== undefined) {
      if (lengths.length > 0) throw parseError('HPE_UNEXPECTED_CONTENT_LENGTH', "Content-Length can't be present with Transfer-Encoding");
      // chunked must be the last coding; any other framing is read to the end of the connection.
      const codings = te
        .toLowerCase()
        .split(',')
        .map((c) => c.trim());
      if (codings[codings.length - 1] === 'chunked') {
        if (codings.length > 1) throw parseError('HPE_INVALID_TRANSFER_ENCODING', 'Unsupported transfer coding');
        this.state = 'chunk-size';
        return;
      }
      this.state = 'close';
      return;
    }
    if (lengths.length > 0) {
      // Repeats (as separate headers or a list) must agree: a disagreement is a framing attack.
      const values = new Set(lengths.flatMap((v) => v.split(',').map((s) => s.trim())));
      const [only] = values;
      if (values.size !== 1 || only === undefined || !/^\d{1,15}$/.test(only)) throw parseError('HPE_INVALID_CONTENT_LENGTH', 'Invalid Content-Length');
      this.state = 'length';
      this.remaining = Number(only);
      headers['content-length'] = only;
      return;
    }
    this.state = 'close';
  }

  private onChunkSize(line: string): void {
    // chunk-size [ ";" chunk-ext ]: extensions are allowed and ignored.
    const semi = line.indexOf(';');
    const hex = (semi < 0 ? line : line.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,12}$/.test(hex)) throw parseError('HPE_INVALID_CHUNK_SIZE', 'Invalid character in chunk size');
    const size = Number.parseInt(hex, 16);
    if (size === 0) {
      this.state = 'trailers';
      return;
    }
    this.remaining = size;
    this.state = 'chunk-data';
  }
}
