// Sandbox over an OCI runtime (runc or crun): writes a runtime spec with the same semantics as the
// bubblewrap sandbox — clean env, fresh /proc and /dev, hostname, only the listed bind mounts, the
// host network or none, uid/gid and cwd — runs it in the foreground and kills it on abort. Docker's
// default capabilities at most, tsbuild's seccomp filter (linux.seccomp), the working directory
// resolved inside the image.
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TsbuildError } from '../lib/errors.js';
import type { RunOptions, RunResult, RunSpec, Sandbox } from '../lib/sandbox/index.js';
import { STEP_CAPABILITIES } from './capabilities.js';
import { resolveWorkdir } from './resolve-workdir.js';
import { hostSeccompArch, ociSeccomp } from './seccomp.js';
import type { StepNamespace } from './step-namespace.js';

const exec = promisify(execFile);

const MASKED = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
];
const READONLY = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export type OciRuntimeName = 'runc' | 'crun';

function runtimeBinary(name: OciRuntimeName): string | undefined {
  return [`/usr/bin/${name}`, `/usr/sbin/${name}`, `/usr/local/bin/${name}`].find((p) => existsSync(p));
}

/** The OCI runtime spec (config.json) for one run. */
function ociSpec(spec: RunSpec, options: { cwdResolved?: boolean } = {}): Record<string, unknown> {
  const uid = spec.uid ?? 0;
  const caps: string[] = uid === 0 ? [...STEP_CAPABILITIES] : [];
  const arch = hostSeccompArch();
  const namespaces: Array<{ type: string }> = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (spec.network === 'none') namespaces.push({ type: 'network' });
  const mounts: Array<Record<string, unknown>> = [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    // No gid=5: in a user namespace with a single id the tty group is not mapped.
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
  ];
  for (const m of spec.mounts) {
    mounts.push({ destination: m.target, type: 'bind', source: m.source, options: ['rbind', 'nosuid', 'nodev', m.readonly ? 'ro' : 'rw'] });
  }
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      // Docker's umask, not the builder's (runtime-spec 1.1 process.user.umask).
      user: { uid, gid: spec.gid ?? uid, umask: 0o022 },
      args: spec.argv,
      env: spec.env.filter((kv) => kv.indexOf('=') > 0),
      cwd: options.cwdResolved ? spec.cwd : resolveWorkdir(spec.rootfs, spec.cwd || '/', spec.image),
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      noNewPrivileges: true,
    },
    root: { path: spec.rootfs, readonly: false },
    hostname: spec.hostname ?? 'tsbuild',
    mounts,
    linux: {
      namespaces,
      maskedPaths: MASKED,
      readonlyPaths: READONLY,
      ...(arch ? { seccomp: ociSeccomp(arch) } : {}),
    },
  };
}

export class OciRuntimeSandbox implements Sandbox {
  readonly name: OciRuntimeName;
  private readonly bin: string;

  constructor(
    name: OciRuntimeName,
    /** Where the runtime keeps container state and we keep bundles (per tsbuild home). */
    private readonly stateDir: string,
    /** Root's builds: steps run in the child user namespace that does not map host root. */
    private readonly steps?: StepNamespace,
  ) {
    this.name = name;
    const bin = runtimeBinary(name);
    if (!bin) {
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `${name} is not installed`, {
        hint: `apt-get install ${name} (or run ./scripts/setup), or use --sandbox bwrap`,
      });
    }
    this.bin = bin;
  }

  /**
   * Steps set no resource limits, so no cgroup is needed. runc copes with any cgroup layout; crun 1.8
   * refuses hybrid (v1 + v2) hosts even with cgroups disabled, so it runs in a mount namespace where
   * an empty tmpfs hides /sys/fs/cgroup (we are root, or root of tsbuild's user namespace).
   */
  private static readonly NO_CGROUPS = 'mount -t tmpfs -o size=4k,mode=755 tsbuild-no-cgroups /sys/fs/cgroup';

  private runtimeArgs(root: string): string[] {
    return this.name === 'runc' ? [this.bin, '--root', root] : [this.bin, '--cgroup-manager=disabled', '--root', root];
  }

  /** argv for one runtime command outside a step (kill, delete). */
  private async control(root: string, args: string[]): Promise<string[]> {
    const inner = this.steps ? await this.steps.enter([...this.runtimeArgs(root), ...args]) : [...this.runtimeArgs(root), ...args];
    if (this.name === 'runc') return inner;
    return ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${OciRuntimeSandbox.NO_CGROUPS} && exec "$@"`, 'crun', ...inner];
  }

  warm(): void {
    this.steps?.warm();
  }

  async run(spec: RunSpec, options: RunOptions = {}): Promise<RunResult> {
    const { signal } = options;
    if (signal?.aborted) throw new TsbuildError('TSB_ABORTED', 'build aborted');
    // Resolved in the image before anything exists: a hostile WorkingDir stops the step here.
    const cwd = resolveWorkdir(spec.rootfs, spec.cwd || '/', spec.image);
    const id = `tsbuild-${process.pid}-${randomBytes(6).toString('hex')}`;
    const staged = this.steps ? await this.steps.stage(spec) : undefined;
    const root = this.steps ? this.steps.stateDir(`${this.name}-state`) : join(this.stateDir, 'state');
    const bundle = staged ? join(staged.dir, 'bundle') : join(this.stateDir, 'bundles', id);
    const env = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };
    const runtime = async (args: string[]): Promise<unknown> => {
      const [cmd, ...argv] = await this.control(root, args);
      return exec(cmd!, argv, { env, timeout: 30_000 }).catch(() => undefined);
    };
    try {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await mkdir(bundle, { recursive: true, mode: 0o700 });
      await writeFile(join(bundle, 'config.json'), JSON.stringify(ociSpec({ ...(staged?.spec ?? spec), cwd }, { cwdResolved: true })));
      const runArgs = [...this.runtimeArgs(root), 'run', '--bundle', bundle, id];
      const [cmd, ...argv] = staged
        ? staged.command(runArgs, this.name === 'crun' ? OciRuntimeSandbox.NO_CGROUPS : ':')
        : this.name === 'crun'
          ? ['unshare', '--mount', '--propagation', 'private', '--', '/bin/sh', '-c', `${OciRuntimeSandbox.NO_CGROUPS} && exec "$@"`, 'crun', ...runArgs]
          : runArgs;
      return await new Promise<RunResult>((resolve, reject) => {
        const child = spawn(cmd!, argv, {
          stdio: options.inheritStdio ? 'inherit' : ['ignore', 'pipe', 'pipe'],
          env,
          detached: true,
        });
        let started = false;
        child.once('spawn', () => (started = true));
        child.stdout?.on('data', (c: Buffer) => options.onOutput?.(c, 'stdout'));
        child.stderr?.on('data', (c: Buffer) => options.onOutput?.(c, 'stderr'));
        // Killing the container's init ends its pid namespace, i.e. every process of the step.
        const kill = (): void => void runtime(['kill', id, 'KILL']);
        signal?.addEventListener('abort', kill, { once: true });
        child.once('error', (err) => {
          signal?.removeEventListener('abort', kill);
          if (!started) reject(new TsbuildError('TSB_SANDBOX_START', `cannot start ${this.bin}: ${err.message}`, { cause: err }));
        });
        child.once('close', (code, sig) => {
          signal?.removeEventListener('abort', kill);
          if (signal?.aborted) {
            reject(new TsbuildError('TSB_ABORTED', 'build aborted; the sandbox was stopped'));
            return;
          }
          resolve(sig ? { exitCode: 128 + 9, signal: sig } : { exitCode: code ?? 1 });
        });
      });
    } finally {
      await runtime(['delete', '--force', id]);
      await rm(bundle, { recursive: true, force: true });
      await staged?.cleanup();
    }
  }
}
