// Bounded reading of HTTP bodies: manifests, configs, tokens and error bodies are small by
// contract, so anything larger is refused at the limit without buffering the rest (CVE-2020-1702).
import type { Readable } from 'node:stream';
import { TsbuildError } from '../errors.js';

/**
 * Drop a body we no longer want. A response received in full (HEAD, empty and small bodies) is
 * drained, so its connection goes back to the pool; any other is destroyed with its connection
 * (a destroyed response may emit an error nobody needs to see).
 */
export function closeBody(body: Readable): void {
  body.on('error', () => undefined);
  if ((body as Readable & { complete?: boolean }).complete === true) body.resume();
  else body.destroy();
}

/** Read at most `limit` bytes; fail (and destroy the body) as soon as more arrive. */
export async function readCapped(body: Readable, limit: number, what: string, contentLength?: string | string[]): Promise<Buffer> {
  const declared = Number(Array.isArray(contentLength) ? contentLength[0] : contentLength);
  if (Number.isFinite(declared) && declared > limit) {
    closeBody(body);
    throw tooLarge(what, limit, declared);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > limit) {
      closeBody(body);
      throw tooLarge(what, limit);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(what: string, limit: number, declared?: number): TsbuildError {
  return new TsbuildError('TSB_TOO_LARGE', `${what} is larger than the ${limit}-byte limit${declared !== undefined ? ` (Content-Length ${declared})` : ''}`, {
    hint: 'the registry sent far more data than this kind of document may hold; check the reference and the registry',
    details: { limit, declared },
  });
}

/** Throw the rest of a body away (bounded, so a hostile server cannot keep us reading). */
export async function discard(body: Readable, limit = 64 * 1024): Promise<void> {
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > limit) break;
    }
  } catch {
    // a failing body we are discarding does not matter
  } finally {
    closeBody(body);
  }
}

/** Read an error body for its spec error codes; never more than `limit` bytes, never throws. */
export async function readErrorBody(body: Readable, limit = 64 * 1024): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of body as AsyncIterable<Buffer>) {
      const room = limit - total;
      if (room <= 0) break;
      chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
      total += Math.min(chunk.length, room);
    }
  } catch {
    // partial error bodies are fine
  } finally {
    closeBody(body);
  }
  return Buffer.concat(chunks).toString('utf8');
}
