// Running the git CLI: argument arrays (never a shell), a clean environment, NUL-separated output
// parsed as a stream, and failures turned into TsbuildErrors that quote git's own message.
import { spawn, type ChildProcess } from 'node:child_process';
import { TsbuildError } from '../errors.js';

/** Options for every git invocation; `-c core.quotePath=false` keeps non-ASCII names verbatim. */
const GIT_BASE_ARGS = ['-c', 'core.quotePath=false', '--literal-pathspecs'];

/** Variables that would redirect git away from the repository we name explicitly. */
const REPO_ENV = [
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_INDEX_FILE',
  'GIT_OBJECT_DIRECTORY',
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_COMMON_DIR',
  'GIT_NAMESPACE',
  'GIT_PREFIX',
  'GIT_CEILING_DIRECTORIES',
  'GIT_DISCOVERY_ACROSS_FILESYSTEM',
];

function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of REPO_ENV) delete env[key];
  // Reads must never take the index lock of a repository the user is working in (git status
  // would otherwise refresh and rewrite the index); prompts would hang a build.
  env.GIT_OPTIONAL_LOCKS = '0';
  env.GIT_TERMINAL_PROMPT = '0';
  env.LC_ALL = 'C';
  return { ...env, ...extra };
}

export interface GitRunOptions {
  /** Arguments placed before the subcommand, e.g. ['-C', dir] or ['--git-dir', dir]. */
  location: string[];
  input?: string | Buffer;
  env?: Record<string, string>;
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  okCodes?: number[];
  signal?: AbortSignal | undefined;
}

export interface GitResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export function spawnGit(args: string[], options: GitRunOptions): ChildProcess {
  const child = spawn('git', [...options.location, ...GIT_BASE_ARGS, ...args], {
    env: gitEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
    signal: options.signal,
  });
  return child;
}

function spawnFailure(err: NodeJS.ErrnoException, args: string[]): TsbuildError {
  if (err.code === 'ENOENT') {
    return new TsbuildError('TSB_TOOL_MISSING', 'git is not installed (no "git" on PATH)', {
      hint: 'install git 2.25 or newer (Debian/Ubuntu: apt-get install git)',
      cause: err,
    });
  }
  if (err.name === 'AbortError') return new TsbuildError('TSB_ABORTED', `git ${args[0] ?? ''} was aborted`, { cause: err });
  return new TsbuildError('TSB_GIT_COMMAND', `could not run git ${args[0] ?? ''}: ${err.message}`, { cause: err });
}

function commandFailure(args: string[], code: number | null, stderr: string): TsbuildError {
  const msg = stderr.trim().split('\n').slice(-5).join('\n');
  return new TsbuildError('TSB_GIT_COMMAND', `git ${args.join(' ').slice(0, 200)} failed (exit ${code ?? 'signal'}): ${msg}`, {
    hint: 'run the same git command in the repository to see the problem; tsbuild needs a readable, non-corrupt repository',
    details: { args, code, stderr: msg },
  });
}

/** Runs git to completion, collecting its output. Rejects on a non-zero exit not in okCodes. */
export function runGit(args: string[], options: GitRunOptions): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    let child: ChildProcess;
    try {
      child = spawnGit(args, options);
    } catch (err) {
      reject(spawnFailure(err as NodeJS.ErrnoException, args));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e) => reject(spawnFailure(e as NodeJS.ErrnoException, args)));
    child.on('close', (code) => {
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 || (code !== null && options.okCodes?.includes(code))) {
        resolve({ code, stdout: Buffer.concat(out), stderr });
      } else {
        reject(commandFailure(args, code, stderr));
      }
    });
    child.stdin?.on('error', () => undefined); // git may exit before reading all input
    child.stdin?.end(options.input ?? '');
  });
}

/**
 * Runs git and yields its output split on NUL bytes (for `-z` formats) without buffering it all:
 * `ls-tree -r` of a large repository is streamed record by record.
 */
export async function* gitRecords(args: string[], options: GitRunOptions): AsyncGenerator<string> {
  let child: ChildProcess;
  try {
    child = spawnGit(args, options);
  } catch (err) {
    throw spawnFailure(err as NodeJS.ErrnoException, args);
  }
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(options.input ?? '');
  const errChunks: Buffer[] = [];
  child.stderr?.on('data', (c: Buffer) => errChunks.push(c));
  let spawnError: Error | undefined;
  child.on('error', (e) => (spawnError = e));
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  let rest: Buffer | undefined;
  try {
    for await (const chunk of child.stdout as AsyncIterable<Buffer>) {
      const buf = rest ? Buffer.concat([rest, chunk]) : chunk;
      let start = 0;
      for (let nul = buf.indexOf(0, start); nul >= 0; nul = buf.indexOf(0, start)) {
        yield buf.toString('utf8', start, nul);
        start = nul + 1;
      }
      rest = start < buf.length ? buf.subarray(start) : undefined;
    }
  } finally {
    if (child.exitCode === null && !child.killed) child.kill(); // the consumer stopped early
  }
  const code = await closed;
  if (spawnError) throw spawnFailure(spawnError as NodeJS.ErrnoException, args);
  if (code !== 0 && !(code !== null && options.okCodes?.includes(code))) {
    throw commandFailure(args, code, Buffer.concat(errChunks).toString('utf8'));
  }
  if (rest && rest.length > 0) yield rest.toString('utf8');
}
