// Sandbox over bubblewrap: a clean environment, the given root filesystem as /, /proc and /dev,
// only the mounts we list, killed with its whole process tree when the builder dies or aborts.
// Every step runs with Docker's default capabilities at most, under tsbuild's seccomp filter, in a
// working directory resolved inside the image.
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { TsbuildError } from '../lib/errors.js';
import type { RunOptions, RunResult, RunSpec, Sandbox } from '../lib/sandbox/index.js';
import { STEP_CAPABILITIES } from './capabilities.js';
import { CLOSE_INHERITED_FDS } from './close-inherited-fds.js';
import { resolveWorkdir } from './resolve-workdir.js';
import { hostSeccompArch, seccompProgram, type SeccompArch } from './seccomp.js';
import type { StagedStep, StepNamespace } from './step-namespace.js';

export const BWRAP = '/usr/bin/bwrap';
const CLOSE_FDS_SHELL = '/usr/bin/bash-static';
// Node (libuv) passes every descriptor it inherited without O_CLOEXEC on to its children, and bwrap
// passes them into the sandbox. A static bash closes everything above stderr except the seccomp
// program on fd 3 (bwrap reads and closes it), then execs bwrap. The step gets Docker's umask 022,
// not the builder's: files a step makes must not depend on who runs the build (reproducible layers).
const CLOSE_FDS_SCRIPT = `umask 022; ${CLOSE_INHERITED_FDS}exec "$@"`;
const SECCOMP_FD = 3;

/** bwrap's arguments for one step; `seccomp` says whether the filter comes on fd 3. */
export function bwrapArgs(spec: RunSpec, options: { seccomp?: boolean; cwdResolved?: boolean } = {}): string[] {
  const args = [
    '--bind',
    spec.rootfs,
    '/',
    '--proc',
    '/proc',
    // bwrap 0.8 leaves these writable for a real-root caller: /proc/sys/kernel/core_pattern is a way
    // to run a program as host root. Read-only binds of the kernel's (one) tree cover them.
    '--ro-bind',
    '/proc/sys',
    '/proc/sys',
    '--ro-bind-try',
    '/proc/sysrq-trigger',
    '/proc/sysrq-trigger',
    '--ro-bind-try',
    '/proc/irq',
    '/proc/irq',
    '--ro-bind-try',
    '/proc/bus',
    '/proc/bus',
    '--ro-bind-try',
    '/proc/fs',
    '/proc/fs',
    '--dev',
    '/dev',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    '--die-with-parent',
    '--new-session',
    '--hostname',
    spec.hostname ?? 'tsbuild',
    '--clearenv',
    // Capabilities in the sandbox's user namespace (or the host's, as root without one): Docker's set.
    '--cap-drop',
    'ALL',
  ];
  if ((spec.uid ?? 0) === 0) for (const cap of STEP_CAPABILITIES) args.push('--cap-add', cap);
  if (options.seccomp) args.push('--seccomp', String(SECCOMP_FD));
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
  args.push('--chdir', options.cwdResolved ? spec.cwd : resolveWorkdir(spec.rootfs, spec.cwd || '/', spec.image));
  args.push('--', ...spec.argv);
  return args;
}

export class BwrapSandbox implements Sandbox {
  readonly name = 'bwrap';

  constructor(
    private readonly bwrapPath = BWRAP,
    /** Root's builds: steps run in the child user namespace that does not map host root. */
    private readonly steps?: StepNamespace,
  ) {
    if (!existsSync(bwrapPath)) {
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `bubblewrap not found at ${bwrapPath}`, {
        hint: 'install it: apt-get install bubblewrap (or run ./scripts/setup)',
      });
    }
    // Checked here: run() starts bwrap through a shell, whose "Permission denied" (126) would
    // otherwise look like the user's command failing.
    try {
      accessSync(bwrapPath, constants.X_OK);
    } catch (err) {
      throw new TsbuildError(
        'TSB_SANDBOX_UNAVAILABLE',
        `bubblewrap at ${bwrapPath} is not executable (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
        {
          hint: `make it executable (chmod 755 ${bwrapPath}) or reinstall it: apt-get install --reinstall bubblewrap`,
          cause: err,
        },
      );
    }
  }

  warm(): void {
    this.steps?.warm();
  }

  async run(spec: RunSpec, options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    if (signal?.aborted) throw new TsbuildError('TSB_ABORTED', 'build aborted');
    const arch = hostSeccompArch();
    // Resolved in the image before anything else happens: a hostile WorkingDir stops the step here.
    const cwd = resolveWorkdir(spec.rootfs, spec.cwd || '/', spec.image);
    const staged = this.steps ? await this.steps.stage(spec) : undefined;
    try {
      return await this.spawnBwrap(bwrapArgs({ ...(staged?.spec ?? spec), cwd }, { seccomp: arch !== undefined, cwdResolved: true }), arch, staged, options);
    } finally {
      await staged?.cleanup();
    }
  }

  private spawnBwrap(args: string[], arch: SeccompArch | undefined, staged: StagedStep | undefined, options: RunOptions): Promise<RunResult> {
    const { signal } = options;
    return new Promise<RunResult>((resolve, reject) => {
      // No inherited fds beyond stdio; nothing of our environment (bwrap --clearenv does the rest).
      const [cmd, ...argv] = staged
        ? staged.command([this.bwrapPath, ...args])
        : existsSync(CLOSE_FDS_SHELL)
          ? [CLOSE_FDS_SHELL, '-c', CLOSE_FDS_SCRIPT, 'tsbuild-sandbox', this.bwrapPath, ...args]
          : [this.bwrapPath, ...args];
      const stdio = options.inheritStdio ? ['inherit', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'];
      const child = spawn(cmd!, argv, {
        stdio: [...stdio, arch ? 'pipe' : 'ignore'] as Array<'inherit' | 'pipe' | 'ignore'>,
        env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
        detached: true,
      });
      if (arch) {
        const fd = child.stdio[SECCOMP_FD] as Writable | null;
        fd?.on('error', () => undefined); // bwrap failed early; its exit status says why
        fd?.end(seccompProgram(arch));
      }
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
          reject(new TsbuildError('TSB_SANDBOX_START', `cannot start ${cmd}: ${err.message}`, { cause: err }));
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
