// Sandbox over bubblewrap: a clean environment, the given root filesystem as /, /proc and /dev,
// only the mounts we list, killed with its whole process tree when the builder dies or aborts.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { TsbuildError } from '../lib/errors.js';
import type { RunOptions, RunResult, RunSpec, Sandbox } from '../lib/sandbox/index.js';

export const BWRAP = '/usr/bin/bwrap';
const CLOSE_FDS_SHELL = '/usr/bin/bash-static';
// Node (libuv) passes every descriptor it inherited without O_CLOEXEC on to its children, and bwrap
// passes them into the sandbox. A static bash closes everything above stderr, then execs bwrap.
const CLOSE_FDS_SCRIPT = 'for f in /proc/self/fd/*; do n=${f##*/}; if [ "$n" -gt 2 ]; then eval "exec $n>&-"; fi; done 2>/dev/null; exec "$@"';

export function bwrapArgs(spec: RunSpec): string[] {
  const args = [
    '--bind', spec.rootfs, '/',
    '--proc', '/proc',
    '--dev', '/dev',
    '--unshare-pid', '--unshare-ipc', '--unshare-uts', '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    '--hostname', spec.hostname ?? 'tsbuild',
    '--clearenv',
  ];
  if (spec.network === 'none') args.push('--unshare-net');
  if (spec.uid !== undefined && spec.uid !== 0) {
    args.push('--unshare-user', '--uid', String(spec.uid), '--gid', String(spec.gid ?? spec.uid));
  }
  for (const m of spec.mounts) args.push(m.readonly ? '--ro-bind' : '--bind', m.source, m.target);
  for (const kv of spec.env) {
    const eq = kv.indexOf('=');
    if (eq <= 0) continue;
    args.push('--setenv', kv.slice(0, eq), kv.slice(eq + 1));
  }
  args.push('--chdir', spec.cwd || '/');
  args.push('--', ...spec.argv);
  return args;
}

export class BwrapSandbox implements Sandbox {
  readonly name = 'bwrap';

  constructor(private readonly bwrapPath = BWRAP) {
    if (!existsSync(bwrapPath)) {
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `bubblewrap not found at ${bwrapPath}`, {
        hint: 'install it: apt-get install bubblewrap (or run ./scripts/setup)',
      });
    }
  }

  run(spec: RunSpec, options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    return new Promise<RunResult>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new TsbuildError('TSB_ABORTED', 'build aborted'));
        return;
      }
      // No inherited fds beyond stdio; nothing of our environment (bwrap --clearenv does the rest).
      const [cmd, args] = existsSync(CLOSE_FDS_SHELL)
        ? [CLOSE_FDS_SHELL, ['-c', CLOSE_FDS_SCRIPT, 'tsbuild-sandbox', this.bwrapPath, ...bwrapArgs(spec)]]
        : [this.bwrapPath, bwrapArgs(spec)];
      const child = spawn(cmd, args, {
        stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        detached: true,
      });
      let started = false;
      child.once('spawn', () => {
        started = true;
      });
      child.stdout?.on('data', (c: Buffer) => options.onOutput?.(c, 'stdout'));
      child.stderr?.on('data', (c: Buffer) => options.onOutput?.(c, 'stderr'));
      const kill = (): void => {
        // bwrap runs in its own process group: kill the group so nothing survives an abort.
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      signal?.addEventListener('abort', kill, { once: true });
      child.once('error', (err) => {
        signal?.removeEventListener('abort', kill);
        if (!started) {
          reject(new TsbuildError('TSB_SANDBOX_START', `cannot start ${this.bwrapPath}: ${err.message}`, { cause: err }));
        }
      });
      child.once('close', (code, sig) => {
        signal?.removeEventListener('abort', kill);
        if (signal?.aborted) {
          reject(new TsbuildError('TSB_ABORTED', 'build aborted; the sandbox was stopped'));
          return;
        }
        resolve(sig ? { exitCode: 128 + (signalNumber(sig) ?? 9), signal: sig } : { exitCode: code ?? 1 });
      });
    });
  }
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  const map: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };
  return map[sig];
}
