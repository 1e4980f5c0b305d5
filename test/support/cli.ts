// Run the real tsbuild CLI (bin/tsbuild.js) in a child process, as a user would.
import { spawn } from 'node:child_process';
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
