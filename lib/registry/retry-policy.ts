// When and how long to wait before retrying a registry request: connection resets, 408, 429 and
// 5xx, exponential backoff with jitter, Retry-After honoured but capped, waits cancellable.
import { TsbuildError } from '../errors.js';
import { BODY_TIMEOUT, HEADERS_TIMEOUT } from './http-transport.js';

export interface RetryOptions {
  /** Total attempts including the first (default 5). */
  attempts?: number;
  /** First backoff delay (default 250 ms), doubled per attempt. */
  baseDelayMs?: number;
  /** Cap on computed backoff (default 10 s). */
  maxDelayMs?: number;
  /** Cap on a server's Retry-After (default 60 s). */
  maxRetryAfterMs?: number;
}

export interface ResolvedRetry {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
}

export function resolveRetry(o: RetryOptions = {}): ResolvedRetry {
  return {
    attempts: Math.max(1, o.attempts ?? 5),
    baseDelayMs: o.baseDelayMs ?? 250,
    maxDelayMs: o.maxDelayMs ?? 10_000,
    maxRetryAfterMs: o.maxRetryAfterMs ?? 60_000,
  };
}

const RETRYABLE_NET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ECONNABORTED',
  // http-transport.ts's deadlines (no response headers, a silent body).
  HEADERS_TIMEOUT,
  BODY_TIMEOUT,
]);

/** Whether a thrown network error (not an HTTP status) is worth another attempt. */
export function isRetryableNetworkError(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; e && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && RETRYABLE_NET_CODES.has(code)) return true;
    if ((e as Error).message === 'aborted' || (e as Error).message === 'terminated' || (e as Error).message === 'other side closed') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Retry-After as milliseconds (delta-seconds or an HTTP date); undefined when absent or invalid. */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const v = Array.isArray(value) ? value[0] : value;
  if (v === undefined || v.trim() === '') return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const date = Date.parse(v);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

export function backoffDelay(policy: ResolvedRetry, attempt: number, retryAfterMs?: number): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, policy.maxRetryAfterMs);
  const exp = Math.min(policy.baseDelayMs * 2 ** attempt, policy.maxDelayMs);
  return Math.round(exp / 2 + (Math.random() * exp) / 2);
}

/** Sleep that rejects with TSB_ABORTED as soon as the signal fires. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortedError(signal));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(abortedError(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function abortedError(signal: AbortSignal | undefined): TsbuildError {
  const reason = signal?.reason as unknown;
  if (reason instanceof TsbuildError) return reason;
  return new TsbuildError('TSB_ABORTED', 'the operation was cancelled', { cause: reason });
}
