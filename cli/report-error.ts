// How every command reports a failure: the message and hint of a TsbuildError with its exit code, or
// an internal error with its stack. Apart from event-printer.ts (which imports the conveyor),
// so that printing an error loads only lib/errors.
import { isTsbuildError, exitCodeFor, ConfigError } from '../lib/errors.js';

/** Print an error with its hint and return the exit code for it. */
export function reportError(err: unknown, err$: NodeJS.WritableStream = process.stderr): number {
  if (isTsbuildError(err)) {
    const prefix = err instanceof ConfigError ? 'config error' : 'error';
    err$.write(`tsbuild: ${prefix}: ${err.message}\n`);
    if (err.hint) err$.write(`hint: ${err.hint}\n`);
    if (process.env.TSBUILD_DEBUG && err.cause) err$.write(`cause: ${String((err.cause as Error).stack ?? err.cause)}\n`);
    return exitCodeFor(err);
  }
  err$.write(`tsbuild: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
