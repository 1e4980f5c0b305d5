// TsbuildError: the one error type the library throws. `kind` drives retries and exit codes,
// `hint` tells the user what to do next. Every code is declared once in ErrorCodes.

export type ErrorKind = 'NOT_FOUND' | 'INVALID' | 'UNAUTHORIZED' | 'UNAVAILABLE' | 'CONFLICT' | 'DATA_LOSS' | 'PRECONDITION' | 'INTERNAL';

export const ErrorCodes = {
  TSB_CONFIG_NOT_FOUND: 'INVALID',
  TSB_CONFIG_UNREADABLE: 'INVALID',
  TSB_CONFIG_TEMPLATE: 'INVALID',
  TSB_CONFIG_YAML: 'INVALID',
  TSB_CONFIG_SCHEMA: 'INVALID',
  TSB_USAGE: 'INVALID',
  TSB_REF_INVALID: 'INVALID',
  TSB_DIGEST_INVALID: 'INVALID',
  TSB_DIGEST_MISMATCH: 'DATA_LOSS',
  TSB_SIZE_MISMATCH: 'DATA_LOSS',
  TSB_TOO_LARGE: 'INVALID',
  TSB_STORE_CORRUPT: 'DATA_LOSS',
  TSB_STORE_NOT_FOUND: 'NOT_FOUND',
  TSB_STORE_LOCKED: 'UNAVAILABLE',
  TSB_HOME_UNUSABLE: 'PRECONDITION',
  TSB_REGISTRY_HTTP: 'UNAVAILABLE',
  TSB_REGISTRY_NOT_FOUND: 'NOT_FOUND',
  TSB_REGISTRY_UNAUTHORIZED: 'UNAUTHORIZED',
  TSB_REGISTRY_UNSUPPORTED: 'INVALID',
  TSB_REGISTRY_NETWORK: 'UNAVAILABLE',
  TSB_IMAGE_NO_PLATFORM: 'NOT_FOUND',
  TSB_IMAGE_NOT_FOUND: 'NOT_FOUND',
  TSB_LAYER_INVALID: 'INVALID',
  TSB_LAYER_UNSAFE: 'INVALID',
  TSB_STAGE_FAILED: 'PRECONDITION',
  TSB_RUN_NOT_FOUND: 'NOT_FOUND',
  TSB_RUN_NOT_EXECUTABLE: 'PRECONDITION',
  TSB_SANDBOX_UNAVAILABLE: 'PRECONDITION',
  TSB_SANDBOX_START: 'PRECONDITION',
  TSB_TOOL_MISSING: 'PRECONDITION',
  TSB_NO_SPACE: 'UNAVAILABLE',
  TSB_GIT_NOT_A_REPO: 'PRECONDITION',
  TSB_GIT_NOT_FOUND: 'NOT_FOUND',
  TSB_GIT_UNCOMMITTED: 'PRECONDITION',
  TSB_GIT_SHALLOW: 'PRECONDITION',
  TSB_GIT_MASK_INVALID: 'INVALID',
  TSB_GIT_REMOTE: 'UNAVAILABLE',
  TSB_GIT_COMMAND: 'INTERNAL',
  TSB_ABORTED: 'UNAVAILABLE',
  TSB_INTERNAL: 'INTERNAL',
} as const satisfies Record<string, ErrorKind>;

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
    this.kind = ErrorCodes[code];
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

  constructor(init: { imageName: string; stage: string; exitCode: number; command: string; lastLines: string[] }) {
    const tail = init.lastLines.length > 0 ? `\n--- last output lines ---\n${init.lastLines.join('\n')}` : '';
    super('TSB_STAGE_FAILED', `image "${init.imageName}", stage ${init.stage}: command failed with exit code ${init.exitCode}: ${init.command}${tail}`, {
      hint: 'fix the command in werf.yaml and run the build again; stages before this one are reused from the cache',
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

/** Exit codes of DESIGN.md: 1 build failed, 2 bad config/usage, 3 registry/auth, 4 environment. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof TsbuildError)) return (err as NodeJS.ErrnoException | undefined)?.code === 'ENOSPC' ? 4 : 1;
  if (err.code === 'TSB_STAGE_FAILED') return 1;
  if (err.code === 'TSB_ABORTED') return 130;
  // tsbuild run: the shell's and Docker's codes for a command that is missing / cannot be executed.
  if (err.code === 'TSB_RUN_NOT_FOUND') return 127;
  if (err.code === 'TSB_RUN_NOT_EXECUTABLE') return 126;
  if (err.code.startsWith('TSB_CONFIG') || err.code === 'TSB_USAGE' || err.code === 'TSB_REF_INVALID' || err.code === 'TSB_GIT_MASK_INVALID') return 2;
  if (err.code.startsWith('TSB_REGISTRY') || err.code === 'TSB_IMAGE_NO_PLATFORM') return 3;
  if (err.code.startsWith('TSB_SANDBOX') || err.code === 'TSB_TOOL_MISSING' || err.code === 'TSB_NO_SPACE' || err.code === 'TSB_HOME_UNUSABLE') return 4;
  return 1;
}
