// One request and its response on one connection, for the registry transport (http-transport.ts):
// the head and body written with backpressure, the answer parsed (http-response-parser.ts) and
// streamed to the caller as it arrives, the two deadlines, cancellation, and the verdict whether the
// connection may serve another request.
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import { ResponseParser, type ResponseHead } from './http-response-parser.js';
import { requestHead } from './http-request-head.js';

/** Error codes of the two deadlines (retry-policy.ts treats both as worth another attempt). */
export const HEADERS_TIMEOUT = 'TSB_HTTP_HEADERS_TIMEOUT';
export const BODY_TIMEOUT = 'TSB_HTTP_BODY_TIMEOUT';
/** What the body must bring within each body deadline to count as moving (a socket read is ~64 KiB). */
const PROGRESS_BYTES = 1024;

/** A request as the transport takes it (http-transport.ts adds redirects), less its URL. */
export interface ExchangeOptions {
  method: string;
  headers: Record<string, string>;
  body?: string | Buffer | Readable | undefined;
  signal?: AbortSignal | undefined;
  /** Milliseconds until the response headers arrive. */
  headersTimeout: number;
  /** Milliseconds within which the body must bring 1 KiB more (or end): silence and a trickle both fail. */
  bodyTimeout: number;
}

export interface ExchangeRequest extends ExchangeOptions {
  url: URL;
}

export interface ExchangeResponse {
  statusCode: number;
  headers: ResponseHead['headers'];
  body: ResponseBody;
}

/** A response body; `complete` once every byte of it has arrived (http-body.ts drains those). */
export class ResponseBody extends Readable {
  complete = false;

  constructor(
    private readonly onRead: () => void,
    private readonly onDestroy: (err: Error | null) => void,
  ) {
    super();
    // A body dropped unread must not crash the process when its connection fails (node:http emitted
    // such errors only to a listener). But the error is kept, not dropped: the response is handed over
    // through a promise, so a failure in the same socket read as the head (a broken chunk right after
    // it) comes before its reader attached anything, and a reader arriving later still learns it
    // (`errored`, which `for await` and stream.finished report) instead of waiting for an end.
    this.on('error', () => undefined);
  }

  override _read(): void {
    this.onRead();
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.onDestroy(err);
    callback(err);
  }
}

function codedError(code: string, message: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? undefined : { cause }), { code });
}

export function abortError(signal: AbortSignal): Error {
  return Object.assign(codedError('ABORT_ERR', 'The operation was aborted', signal.reason), { name: 'AbortError' });
}

/** What the exchange learnt that the transport needs after it: whether any answer byte came back. */
export interface ExchangeState {
  answered: boolean;
}

/**
 * Send `req` on `socket` and resolve with the response once its head is in. `release(reusable)` is
 * called exactly once: with true when the response was read completely, the request written
 * completely, nothing extra arrived and neither side said close (the socket is then handed back
 * without listeners); with false when the socket was destroyed.
 */
export function exchange(socket: Socket, req: ExchangeRequest, state: ExchangeState, release: (reusable: boolean) => void): Promise<ExchangeResponse> {
  const { signal, body: source } = req;
  return new Promise<ExchangeResponse>((resolve, reject) => {
    let body: ResponseBody | undefined;
    let written = false;
    let reusable = false;
    let done = false;
    let pausedForReader = false;
    let sending: Readable | undefined;

    const headersTimer = setTimeout(() => fail(codedError(HEADERS_TIMEOUT, `no response headers within ${req.headersTimeout} ms`)), req.headersTimeout);
    headersTimer.unref();
    // Silence in the body: restarted by every PROGRESS_BYTES read from the socket, so a server that
    // drips a byte now and then (slow-loris) cannot hold a transfer open forever. Bytes waiting for a
    // slow reader are the reader's delay, not the server's: the timer is re-armed then.
    let bodyTimer: NodeJS.Timeout | undefined;
    let trickled = 0;
    const onBodyTimer = (): void => {
      if (!body || body.complete) return;
      if (body.readableLength > 0 || socket.readableLength > 0 || pausedForReader) {
        trickled = 0;
        bodyTimer?.refresh();
      } else {
        const what = trickled === 0 ? 'no body data' : `only ${trickled} bytes of body data`;
        fail(codedError(BODY_TIMEOUT, `${what} for ${req.bodyTimeout} ms`));
      }
    };

    const parser = new ResponseParser(req.method, {
      onHead(head) {
        clearTimeout(headersTimer);
        body = new ResponseBody(
          () => {
            // Once the response is complete the socket may already serve another request.
            if (pausedForReader && !done) {
              pausedForReader = false;
              socket.resume();
            }
          },
          (err) => {
            // A body dropped before its end takes the connection with it (its rest is still coming).
            if (!body?.complete) fail(err ?? codedError('ECONNRESET', 'aborted'));
          },
        );
        reusable = head.keepAlive;
        bodyTimer = setTimeout(onBodyTimer, req.bodyTimeout);
        bodyTimer.unref();
        resolve({ statusCode: head.statusCode, headers: head.headers, body });
      },
      onBody(chunk) {
        if (!body!.push(chunk) && !pausedForReader) {
          pausedForReader = true;
          socket.pause();
        }
      },
      onComplete(rest) {
        clearTimeout(bodyTimer);
        if (rest) reusable = false;
        body!.complete = true;
        body!.push(null);
        settle();
      },
    });

    const onData = (chunk: Buffer): void => {
      state.answered = true;
      if (bodyTimer) {
        trickled += chunk.length;
        if (trickled >= PROGRESS_BYTES) {
          trickled = 0;
          bodyTimer.refresh();
        }
      }
      try {
        parser.execute(chunk);
      } catch (err) {
        fail(err as Error);
      }
    };
    const onEnd = (): void => {
      reusable = false;
      try {
        parser.end();
      } catch (err) {
        fail(err as Error);
      }
    };
    const onClose = (): void => fail(codedError('ECONNRESET', parser.started ? 'aborted' : 'socket hang up'));
    const onError = (err: Error): void => fail(err);
    const onAbort = (): void => fail(abortError(signal!));

    function detach(): void {
      clearTimeout(headersTimer);
      clearTimeout(bodyTimer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onClose);
      socket.off('error', onError);
      signal?.removeEventListener('abort', onAbort);
    }

    /** The response is complete: hand the socket back once the request is written too. */
    function settle(): void {
      if (done || !parser.complete) return;
      if (!reusable) {
        done = true;
        detach();
        stopSending();
        socket.destroy();
        release(false);
      } else if (written) {
        done = true;
        detach();
        // The pool resumes it; the body's later reads must not.
        pausedForReader = false;
        release(true);
      }
    }

    function fail(err: Error): void {
      if (done) return;
      done = true;
      detach();
      socket.destroy();
      stopSending(err);
      release(false);
      if (!body) reject(err);
      else if (!body.complete) body.destroy(err);
    }

    function stopSending(err?: Error): void {
      if (!sending || written) return;
      sending.off('data', onSourceData);
      sending.off('end', onSourceEnd);
      // The source is ours to close (as pipeline() did for node:http): its file descriptor is not leaked.
      sending.on('error', () => undefined);
      sending.destroy(err);
    }

    socket.on('data', onData);
    socket.on('end', onEnd);
    socket.on('close', onClose);
    socket.on('error', onError);
    if (signal) {
      if (signal.aborted) return fail(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    }

    let head: ReturnType<typeof requestHead>;
    let sent = 0;
    let waitingForDrain = false;
    try {
      const size = source === undefined ? 'none' : typeof source === 'string' ? Buffer.byteLength(source) : Buffer.isBuffer(source) ? source.length : 'stream';
      head = requestHead(req.method, req.url, req.headers, size);
      if (typeof size === 'number' || size === 'none') {
        const length = size === 'none' ? 0 : size;
        if (head.contentLength !== undefined && head.contentLength !== length) {
          throw codedError('ERR_HTTP_CONTENT_LENGTH_MISMATCH', `Request body length does not match content-length header (${length} vs ${head.contentLength})`);
        }
      }
    } catch (err) {
      return fail(err as Error);
    }

    // Every byte of the request is sent; the headers deadline counts from the last one.
    const sentAll = (): void => {
      written = true;
      // A refresh after clearTimeout would arm the timer again: only while the head is awaited.
      if (!body && !done) headersTimer.refresh();
      settle();
    };
    const onSourceData = (chunk: Buffer | string): void => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      sent += bytes.length;
      if (head.contentLength !== undefined && sent > head.contentLength) {
        fail(codedError('ERR_HTTP_CONTENT_LENGTH_MISMATCH', `the request body is longer than its Content-Length (${head.contentLength})`));
        return;
      }
      if (!body) headersTimer.refresh();
      let ok: boolean;
      if (head.chunked) {
        if (bytes.length === 0) return;
        socket.cork();
        socket.write(`${bytes.length.toString(16)}\r\n`, 'latin1');
        socket.write(bytes);
        ok = socket.write('\r\n', 'latin1');
        socket.uncork();
      } else ok = socket.write(bytes);
      if (!ok && !waitingForDrain) {
        waitingForDrain = true;
        sending!.pause();
        socket.once('drain', () => {
          waitingForDrain = false;
          if (!done) sending!.resume();
        });
      }
    };
    const onSourceEnd = (): void => {
      if (done) return;
      if (head.contentLength !== undefined && sent !== head.contentLength) {
        fail(codedError('ERR_HTTP_CONTENT_LENGTH_MISMATCH', `the request body ended after ${sent} of its ${head.contentLength} bytes`));
        return;
      }
      if (head.chunked) socket.write('0\r\n\r\n');
      sentAll();
    };

    if (source === undefined || typeof source === 'string' || Buffer.isBuffer(source)) {
      socket.write(source === undefined ? head.text : Buffer.concat([Buffer.from(head.text, 'latin1'), Buffer.from(source)]));
      sentAll();
      return;
    }
    socket.write(head.text, 'latin1');
    sending = source;
    source.on('data', onSourceData);
    source.once('end', onSourceEnd);
    source.once('error', (err: Error) => fail(err));
  });
}
