// Errors cross worker_threads as plain objects; rebuild TsbuildError (code, hint, details) on arrival.
import { TsbuildError, ErrorCodes, type ErrorCode } from '../errors.js';

export interface WireError {
  code?: string;
  message: string;
  hint?: string;
  details?: Record<string, unknown>;
  errno?: string;
  stack?: string;
}

export function toWire(err: unknown): WireError {
  if (err instanceof TsbuildError) {
    const w: WireError = { code: err.code, message: err.message, details: err.details };
    if (err.hint !== undefined) w.hint = err.hint;
    return w;
  }
  const e = err as NodeJS.ErrnoException;
  const w: WireError = { message: e?.message ?? String(err) };
  if (typeof e?.code === 'string') w.errno = e.code;
  if (typeof e?.stack === 'string') w.stack = e.stack;
  return w;
}

export function fromWire(w: WireError, what: string): Error {
  if (w.code !== undefined && w.code in ErrorCodes) {
    const opts: { hint?: string; details?: Record<string, unknown> } = {};
    if (w.hint !== undefined) opts.hint = w.hint;
    if (w.details !== undefined) opts.details = w.details;
    return new TsbuildError(w.code as ErrorCode, w.message, opts);
  }
  const e = new Error(`${what}: ${w.message}`) as NodeJS.ErrnoException;
  if (w.errno !== undefined) e.code = w.errno;
  if (w.stack !== undefined) e.stack = w.stack;
  return e;
}
