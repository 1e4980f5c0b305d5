// TsbuildError: the one error type the library throws. `kind` drives retries, `hint` tells the user
// what to do next. Every code is declared once in ErrorCodes, with its kind and its exit code.

export type ErrorKind = 'NOT_FOUND' | 'INVALID' | 'UNAUTHORIZED' | 'UNAVAILABLE' | 'CONFLICT' | 'DATA_LOSS' | 'PRECONDITION' | 'INTERNAL';

/**
 * Exit codes of DESIGN.md: 1 build failed (also data and store problems), 2 bad config or usage,
 * 3 registry or authentication, 4 environment (sandbox, tools, space, home); 126/127 are the shell's
 * for `tsbuild run`, 130 an interrupt. Declared per code, not derived from the kind: a NOT_FOUND is
 * exit 3 from a registry, 127 from `run`, 1 from the store.
 */
export type ExitCode = 1 | 2 | 3 | 4 | 126 | 127 | 130;

export const ErrorCodes = {
  TSB_CONFIG_NOT_FOUND: { kind: 'INVALID', exit: 2 },
  TSB_CONFIG_UNREADABLE: { kind: 'INVALID', exit: 2 },
  TSB_CONFIG_TEMPLATE: { kind: 'INVALID', exit: 2 },
  TSB_CONFIG_YAML: { kind: 'INVALID', exit: 2 },
  TSB_CONFIG_SCHEMA: { kind: 'INVALID', exit: 2 },
  TSB_USAGE: { kind: 'INVALID', exit: 2 },
  TSB_REF_INVALID: { kind: 'INVALID', exit: 2 },
  TSB_DIGEST_INVALID: { kind: 'INVALID', exit: 1 },
  TSB_DIGEST_MISMATCH: { kind: 'DATA_LOSS', exit: 1 },
  TSB_SIZE_MISMATCH: { kind: 'DATA_LOSS', exit: 1 },
  TSB_TOO_LARGE: { kind: 'INVALID', exit: 1 },
  TSB_STORE_CORRUPT: { kind: 'DATA_LOSS', exit: 1 },
  TSB_STORE_NOT_FOUND: { kind: 'NOT_FOUND', exit: 1 },
  TSB_STORE_LOCKED: { kind: 'UNAVAILABLE', exit: 1 },
  TSB_HOME_UNUSABLE: { kind: 'PRECONDITION', exit: 4 },
  TSB_REGISTRY_HTTP: { kind: 'UNAVAILABLE', exit: 3 },
  TSB_REGISTRY_NOT_FOUND: { kind: 'NOT_FOUND', exit: 3 },
  TSB_REGISTRY_UNAUTHORIZED: { kind: 'UNAUTHORIZED', exit: 3 },
  TSB_REGISTRY_UNSUPPORTED: { kind: 'INVALID', exit: 3 },
  TSB_REGISTRY_NETWORK: { kind: 'UNAVAILABLE', exit: 3 },
  TSB_IMAGE_NO_PLATFORM: { kind: 'NOT_FOUND', exit: 3 },
  TSB_IMAGE_NOT_FOUND: { kind: 'NOT_FOUND', exit: 1 },
  TSB_LAYER_INVALID: { kind: 'INVALID', exit: 1 },
  TSB_LAYER_UNSAFE: { kind: 'INVALID', exit: 1 },
  TSB_STAGE_FAILED: { kind: 'PRECONDITION', exit: 1 },
  TSB_RUN_NOT_FOUND: { kind: 'NOT_FOUND', exit: 127 },
  TSB_RUN_NOT_EXECUTABLE: { kind: 'PRECONDITION', exit: 126 },
  TSB_SANDBOX_UNAVAILABLE: { kind: 'PRECONDITION', exit: 4 },
  TSB_SANDBOX_START: { kind: 'PRECONDITION', exit: 4 },
  TSB_TOOL_MISSING: { kind: 'PRECONDITION', exit: 4 },
  TSB_NO_SPACE: { kind: 'UNAVAILABLE', exit: 4 },
  TSB_GIT_NOT_A_REPO: { kind: 'PRECONDITION', exit: 1 },
  TSB_GIT_NOT_FOUND: { kind: 'NOT_FOUND', exit: 1 },
  TSB_GIT_UNCOMMITTED: { kind: 'PRECONDITION', exit: 1 },
  TSB_GIT_SHALLOW: { kind: 'PRECONDITION', exit: 1 },
  TSB_GIT_MASK_INVALID: { kind: 'INVALID', exit: 2 },
  TSB_GIT_TREE_INVALID: { kind: 'INVALID', exit: 1 },
  TSB_GIT_REMOTE: { kind: 'UNAVAILABLE', exit: 1 },
  TSB_GIT_COMMAND: { kind: 'INTERNAL', exit: 1 },
  TSB_ABORTED: { kind: 'UNAVAILABLE', exit: 130 },
  TSB_INTERNAL: { kind: 'INTERNAL', exit: 1 },
} as const satisfies Record<string, { kind: ErrorKind; exit: ExitCode }>;

export type ErrorCode = keyof typeof ErrorCodes;

export interface TsbuildErrorOptions {
  hint?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

export class TsbuildError extends Error {
  readonly code: ErrorCode;
  readonly kind: ErrorKind;
  readonly hint: string | undefined;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TsbuildErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TsbuildError';
    this.code = code;
    this.kind = ErrorCodes[code].kind;
    this.hint = options.hint;
    this.details = options.details ?? {};
  }
}

/** A stage's command failed: carries what the CLI needs to explain it. */
export class StageFailedError extends TsbuildError {
  readonly imageName: string;
  readonly stage: string;
  readonly exitCode: number;
  readonly command: string;
  readonly lastLines: string[];

  constructor(init: { imageName: string; stage: string; exitCode: number; command: string; lastLines: string[]; hint?: string }) {
    const tail = init.lastLines.length > 0 ? `\n--- last output lines ---\n${init.lastLines.join('\n')}` : '';
    super('TSB_STAGE_FAILED', `image "${init.imageName || '~'}", stage ${init.stage}: command failed with exit code ${init.exitCode}: ${init.command}${tail}`, {
      hint: init.hint ?? 'fix the command in werf.yaml and run the build again; stages before this one are reused from the cache',
    });
    this.name = 'StageFailedError';
    this.imageName = init.imageName;
    this.stage = init.stage;
    this.exitCode = init.exitCode;
    this.command = init.command;
    this.lastLines = init.lastLines;
  }
}

/** Config problems point at a file and line (of the rendered config and, when known, the template). */
export class ConfigError extends TsbuildError {
  readonly file: string | undefined;
  readonly line: number | undefined;
  readonly column: number | undefined;

  constructor(message: string, where: { file?: string; line?: number; column?: number; code?: ErrorCode } = {}, options: TsbuildErrorOptions = {}) {
    const loc = where.file ? `${where.file}${where.line ? `:${where.line}${where.column ? `:${where.column}` : ''}` : ''}: ` : '';
    super(where.code ?? 'TSB_CONFIG_SCHEMA', `${loc}${message}`, options);
    this.name = 'ConfigError';
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
  }
}

export class DigestMismatchError extends TsbuildError {
  readonly expected: string;
  readonly actual: string;
  constructor(what: string, expected: string, actual: string) {
    super('TSB_DIGEST_MISMATCH', `${what}: digest mismatch: expected ${expected}, got ${actual}; nothing was stored`, {
      hint: 'the data was corrupted in transit or at the source; retry, and if it persists report it to the registry owner',
      details: { expected, actual },
    });
    this.name = 'DigestMismatchError';
    this.expected = expected;
    this.actual = actual;
  }
}

/** ENOSPC said with where it happened (the raw error only says "write"); other errors unchanged. */
export function noSpaceError(err: unknown, where: string): unknown {
  if ((err as NodeJS.ErrnoException | undefined)?.code !== 'ENOSPC') return err;
  return new TsbuildError('TSB_NO_SPACE', `no space left on device ${where}`, {
    hint: 'free space on that file system (`tsbuild stages gc` drops unused stages and blobs), or point TSBUILD_HOME at a bigger one',
    cause: err,
  });
}

export function isTsbuildError(err: unknown): err is TsbuildError {
  return err instanceof TsbuildError;
}

/** The exit code the CLI ends with: the code's own (ErrorCodes); ENOSPC outside a TsbuildError is 4, anything else unexpected 1. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof TsbuildError)) return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' ? 4 : 1;
  return ErrorCodes[err.code].exit;
}
