// Run the real tsbuild CLI (bin/tsbuild.js) in a child process, as a user would.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..');
export const TSBUILD_BIN = join(REPO_ROOT, 'bin', 'tsbuild.js');

/**
 * Time limits in tests only catch hangs: they sit far above what the slowest step (the stapel
 * toolchain from the Debian archive on a fresh machine running two suites) takes, never a speed bar.
 */
export const HANG_GUARD_MS = 1_800_000;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { home: string; cwd?: string; env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number }): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [TSBUILD_BIN, ...args], {
      cwd: opts.cwd ?? REPO_ROOT,
      env: { ...process.env, TSBUILD_HOME: opts.home, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 900_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code: code ?? 1, stdout, stderr });
    });
    child.stdin.end(opts.input ?? '');
  });
}

export async function tempDir(prefix: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), `tsbuild-${prefix}-`));
  return { path, cleanup: () => rm(path, { recursive: true, force: true }) };
}

/** Temp dirs made during a suite, all removed by cleanup() in after(). */
export function tempDirs(): { make(prefix: string): Promise<string>; last(): string; cleanup(): Promise<void> } {
  const made: Array<{ path: string; cleanup(): Promise<void> }> = [];
  return {
    make: async (prefix) => {
      const t = await tempDir(prefix);
      made.push(t);
      return t.path;
    },
    last: () => made[made.length - 1]!.path,
    cleanup: async () => {
      for (const t of made.splice(0)) await t.cleanup();
    },
  };
}

export interface CliChild {
  child: ChildProcess;
  /** What it wrote to stderr so far. */
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
  /** Resolves once stderr matches `re` (never, if it does not before exiting: race it with `exited`). */
  saw(re: RegExp): Promise<void>;
}

/** Start the CLI and watch its stderr, for tests that act while it runs (signals, kills, waits). */
export function startCli(args: string[], opts: { home: string; env?: NodeJS.ProcessEnv; detached?: boolean }): CliChild {
  const child = spawn(process.execPath, [TSBUILD_BIN, ...args], {
    env: { ...process.env, TSBUILD_HOME: opts.home, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.detached ? { detached: true } : {}),
  });
  let err = '';
  const watchers: Array<{ re: RegExp; resolve: () => void }> = [];
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    for (const w of watchers.filter((x) => x.re.test(err))) w.resolve();
  });
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stderr: () => err, exited, saw: (re) => new Promise<void>((resolve) => (re.test(err) ? resolve() : watchers.push({ re, resolve }))) };
}
