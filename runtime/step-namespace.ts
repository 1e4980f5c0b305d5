// Steps of a root-run build: the builder is root of a user namespace that maps root's subordinate
// range and, for the builder's own sake, host root (userns.ts). A step must not have host root, so it
// runs in a child namespace mapping only 0..N-1 (the range), created once per build. Root of that
// namespace cannot enter directories only host root may (a home in /root, a 0700 temp dir), so each
// step's root filesystem and mount sources are first bound, in a private mount namespace, under a
// staging directory it owns; the runtime then starts inside the child namespace and sees only those.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsbuildError } from '../lib/errors.js';
import type { RunSpec } from '../lib/sandbox/index.js';
import { startTime } from '../lib/internal/owned-dir.js';
import { CLOSE_INHERITED_FDS } from './close-inherited-fds.js';

const STATIC_SHELL = '/usr/bin/bash-static';

// Bind each source on its staging path (one `mount --all` over a table of the binds: one process
// instead of one per bind), close every inherited descriptor above 3 (fd 3 may carry the seccomp
// program), then enter the step namespace and exec the runtime. `extra` runs before that (crun: an
// empty /sys/fs/cgroup).
// Docker's umask 022 for the step, whoever runs the build (reproducible layers).
const STAGE_SCRIPT =
  'umask 022; ns=$1; fstab=$2; extra=$3; shift 3; ' +
  'mount --all --fstab "$fstab" || exit 125; ' +
  'eval "$extra" || exit 125; ' +
  CLOSE_INHERITED_FDS +
  'exec nsenter --user="$ns" -- "$@"';

const STAGE_PARENT = '/tmp';

/**
 * A path as an fstab field: bytes outside a plain set as octal escapes (libmount unmangles every
 * `\ooo`), so spaces, tabs, newlines, `#` and backslashes in user mount sources stay one field.
 */
export function fstabField(path: string): string {
  let out = '';
  for (const b of Buffer.from(path, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /[A-Za-z0-9/._+@:=,-]/.test(c) ? c : `\\${b.toString(8).padStart(3, '0')}`;
  }
  return out;
}

/** The binds as a table for `mount --all --fstab`, in order. */
export function bindTable(binds: ReadonlyArray<readonly [string, string]>): string {
  return binds.map(([source, target]) => `${fstabField(source)} ${fstabField(target)} none rbind 0 0\n`).join('');
}

/**
 * A new staging directory named after this builder (pid and start time; root's builder stays in the
 * host's pid namespace), after removing those of builders that are gone: a killed build cannot
 * remove its own. Nothing is mounted in them in this mount namespace: the binds lived in the dead
 * launchers' namespaces.
 */
function makeStageRoot(): string {
  for (const name of readdirSync(STAGE_PARENT)) {
    const m = /^tsbuild-steps-(\d+)-(\d+)-/.exec(name);
    if (!m || startTime(Number(m[1])) === m[2]) continue;
    try {
      rmSync(join(STAGE_PARENT, name), { recursive: true, force: true });
    } catch {
      /* not ours to remove (another range's builder): left alone */
    }
  }
  return mkdtempSync(join(STAGE_PARENT, `tsbuild-steps-${process.pid}-${startTime('self') ?? '0'}-`));
}

export interface StagedStep {
  /** The spec with the root filesystem and every mount source replaced by its staging path. */
  spec: RunSpec;
  /** A private directory of this step (the OCI bundle goes there). */
  dir: string;
  /** argv that stages, enters the namespace and runs `command`. */
  command(command: string[], extra?: string): string[];
  cleanup(): Promise<void>;
}

export class StepNamespace {
  private holder: ChildProcess | undefined;
  private nsPath: Promise<string> | undefined;
  private stageRoot: string | undefined;
  private seq = 0;

  /** `ids`: how many ids (from 0) the step namespace maps, one-to-one onto the builder's. */
  constructor(readonly ids: number) {}

  /** /proc/<holder>/ns/user of the step namespace, made on first use. */
  userns(): Promise<string> {
    this.nsPath ??= this.create();
    return this.nsPath;
  }

  /** Make the namespace now (before the first step needs it); a failure is reported to that step. */
  warm(): void {
    this.userns().catch(() => undefined);
  }

  private async create(): Promise<string> {
    // pdeathsig: the holder goes when the builder goes, however it ends.
    const holder = spawn('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'unshare', '--user', '--', 'sleep', 'infinity'], {
      stdio: 'ignore',
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' },
    });
    this.holder = holder;
    holder.unref();
    process.once('exit', () => this.dispose());
    const pid = holder.pid;
    if (!pid) throw new TsbuildError('TSB_SANDBOX_START', 'cannot start unshare for the step user namespace', { hint: 'apt-get install util-linux' });
    const own = readlinkSync('/proc/self/ns/user');
    // unshare execs sleep once the namespace exists; its maps can only be written after that.
    for (let i = 0; ; i++) {
      let ns: string | undefined;
      try {
        ns = readlinkSync(`/proc/${pid}/ns/user`);
      } catch {
        ns = undefined;
      }
      if (ns && ns !== own) break;
      if (i > 2500 || holder.exitCode !== null)
        throw new TsbuildError('TSB_SANDBOX_START', 'the step user namespace was not created', { hint: '`tsbuild doctor`' });
      await new Promise((r) => setTimeout(r, 2));
    }
    try {
      // Synchronous: two short writes to procfs, which the thread pool (busy packing layers) would queue.
      writeFileSync(`/proc/${pid}/uid_map`, `0 0 ${this.ids}\n`);
      writeFileSync(`/proc/${pid}/gid_map`, `0 0 ${this.ids}\n`);
    } catch (err) {
      throw new TsbuildError('TSB_SANDBOX_START', `cannot map ids of the step user namespace: ${(err as Error).message}`, { cause: err });
    }
    return `/proc/${pid}/ns/user`;
  }

  /** Staging paths for one step; the binds themselves happen in the command's own mount namespace. */
  async stage(spec: RunSpec): Promise<StagedStep> {
    const ns = await this.userns();
    // In /tmp: every directory above it can be entered by anyone; the directory itself is the
    // builder's (root of the namespace, owning the step namespace's uid 0) and mode 0700.
    this.stageRoot ??= makeStageRoot();
    const dir = join(this.stageRoot, String(++this.seq));
    // Synchronous, like makeStageRoot: a few entries in /tmp, each far cheaper than a trip through the
    // thread pool, which is busy with the layer of the stage before while this one starts.
    mkdirSync(join(dir, 'root'), { recursive: true, mode: 0o700 });
    const binds: Array<[string, string]> = [[spec.rootfs, join(dir, 'root')]];
    const mounts = [];
    for (const [i, m] of spec.mounts.entries()) {
      const target = join(dir, `m${i}`);
      if (statSync(m.source).isDirectory()) mkdirSync(target);
      else writeFileSync(target, '');
      binds.push([m.source, target]);
      mounts.push({ ...m, source: target });
    }
    const fstab = join(dir, 'binds.fstab');
    writeFileSync(fstab, bindTable(binds));
    return {
      spec: { ...spec, rootfs: join(dir, 'root'), mounts },
      dir,
      command: (command, extra = ':') => [
        'unshare',
        '--mount',
        '--propagation',
        'private',
        '--',
        STATIC_SHELL,
        '-c',
        STAGE_SCRIPT,
        'tsbuild-step',
        ns,
        fstab,
        extra,
        ...command,
      ],
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }

  /** argv that runs `command` in the step namespace without staging (runc kill/delete). */
  async enter(command: string[]): Promise<string[]> {
    return ['nsenter', `--user=${await this.userns()}`, '--', ...command];
  }

  /** A directory in the staging area that the step namespace's root owns (runc's state). */
  stateDir(name: string): string {
    this.stageRoot ??= makeStageRoot();
    return join(this.stageRoot, name);
  }

  dispose(): void {
    if (this.holder?.exitCode === null) this.holder.kill('SIGKILL');
    if (this.stageRoot) rmSync(this.stageRoot, { recursive: true, force: true });
    this.stageRoot = undefined;
  }
}
