// The one stage runner: shell stages, ansible stages and `tsbuild run` all run a process on a
// snapshot of an image this way — work dir, the sandbox's own mounts, user mounts and secrets
// (read-only when declared so, locked when shared), the run, the failure description, the commit
// of what changed into a layer, and the cleanup.
import { chmod, lstat, mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { ContentStore } from '../content/index.js';
import type { LayerCompressionSpec } from '../oci/index.js';
import { TsbuildError } from '../errors.js';
import { acquireFileLock } from '../internal/file-lock.js';
import { removeTree } from '../internal/remove-tree.js';
import { pathExists as exists } from '../internal/atomic-write.js';
import { writeDerivedImage, type StoredImage } from '../image/index.js';
import { warmLayerWriter } from '../layer/index.js';
import type { BindMount, LayerSource, RunSpec, Sandbox, Snapshotter } from '../sandbox/index.js';
import { resolveUser } from './image-users.js';
import type { StageMount } from './mounts.js';
import { BASH_IN_SANDBOX, STATUS_IN_SANDBOX, TSBUILD_DIR } from './shell-script.js';

const BASH_STATIC = '/usr/bin/bash-static';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TAIL_LINES = 20;

export function stageEnv(config: StoredImage['config']['config']): string[] {
  // Only NAME=value entries: one without a name or "=" means nothing to a process (never a host
  // variable, as podman's CVE-2026-57231 once made it), and a NUL byte cannot reach one at all.
  const env = (config?.Env ?? []).filter((e) => typeof e === 'string' && e.indexOf('=') > 0 && !e.includes('\0'));
  const has = (k: string): boolean => env.some((e) => e.startsWith(`${k}=`));
  if (!has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!has('HOME')) env.push('HOME=/root');
  return env;
}

/** What the runner needs; a BuildContext is one. */
export interface RunnerContext {
  store: ContentStore;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  tmpDir: string;
  /** The image's layers as the snapshotter opens them (fetched on first open when not local). */
  layers(image: StoredImage): LayerSource[];
  /** How committed layers are compressed (default gzip). */
  layerCompression?: LayerCompressionSpec | undefined;
  /** Clamp the mtimes of what the run wrote (reproducible images). */
  sourceDateEpoch?: number;
  /**
   * Where the sandbox will put the process for `cwd` (symlinks resolved inside the image, a hostile
   * WorkingDir refused naming `image`); `createWorkdir` makes that directory.
   */
  resolveWorkdir?(rootfs: string, cwd: string, image: string): string;
  signal?: AbortSignal | undefined;
}

/** What to run and how; everything but the process's own fields has a default. */
export interface StageRun extends Omit<RunSpec, 'rootfs' | 'mounts' | 'uid' | 'gid'> {
  /** Snapshot key (unique among runs at the same time). */
  key: string;
  /** Names the run in errors: `image "app", stage install`. */
  what: string;
  /** Numeric ids, or a user spec resolved in the image (`tsbuild run`: the image's USER). */
  user: { uid: number; gid: number } | string;
  /**
   * 'stage': a build stage — bash-static, the script and status dirs under /.tsbuild, resolv.conf
   * and hosts with host networking; the changes are committed. 'run': the image as it is.
   */
  mode: 'stage' | 'run';
  /** User mounts and secrets: bound read-only when they say so, their locks held while running. */
  mounts?: readonly StageMount[];
  /** Other images mounted read-only (the ansible toolchain at /.tsbuild/stapel). */
  images?: ReadonlyArray<{ image: StoredImage; target: string }>;
  /** Writes its files into the work dir and returns how they are mounted. */
  prepareWork?(work: string): Promise<BindMount[]>;
  /** Runs on the prepared root filesystem first (git sources brought up to date). */
  beforeRun?(rootfs: string): Promise<void>;
  /** Docker creates a missing WORKDIR (`tsbuild run`). */
  createWorkdir?: boolean;
  /**
   * The last look at the process (cwd resolved, user resolved) before it starts, on the prepared
   * root: may change its env or ids, or refuse it (`tsbuild run`: Docker's HOME, gid and exec checks).
   */
  beforeExec?(rootfs: string, proc: ProcessToRun): Promise<void>;
  /** The process's output as it comes; its last lines are kept for the failure description. */
  onOutput?(chunk: Buffer): void;
  /** Attach the caller's stdio (`tsbuild run`). */
  inheritStdio?: boolean;
  /** A build stage's failure: the error for a non-zero exit (what failed, from the work dir). */
  describeFailure?(exitCode: number, work: string, lastLines: string[]): Promise<Error>;
  /** Commit the changes as a layer on top of the image (build stages). */
  commit?: { history: string; annotations?: Record<string, string> };
}

/** The process as it will be started, for StageRun.beforeExec. */
export interface ProcessToRun {
  argv: string[];
  env: string[];
  /** In the image, symlinks resolved. */
  cwd: string;
  uid: number;
  gid: number;
}

export interface StageRunResult {
  exitCode: number;
  /** The image with the committed layer, when `commit` was asked and the run succeeded. */
  image?: StoredImage;
}

export async function runInStage(parent: StoredImage, ctx: RunnerContext, run: StageRun): Promise<StageRunResult> {
  const work = await mkdtemp(join(ctx.tmpDir, 'stage-'));
  const releases: Array<() => Promise<void>> = [];
  const keys = [run.key];
  const signal = ctx.signal ? { signal: ctx.signal } : {};
  try {
    ctx.sandbox.warm?.();
    const snap = await ctx.snapshotter.prepare(run.key, ctx.layers(parent), signal);
    if (run.beforeRun) await run.beforeRun(snap.rootfs);
    const { mounts, skip } =
      run.mode === 'stage' ? await sandboxMounts(snap.rootfs, work, run.network) : { mounts: [], skip: [], ...(await refuseSymlinks(snap.rootfs)) };
    const pruneIfEmpty: string[] = [...skip];
    for (const [i, x] of (run.images ?? []).entries()) {
      const key = `${run.key}-${i}`;
      keys.push(key);
      const s = await ctx.snapshotter.prepare(key, ctx.layers(x.image), signal);
      mounts.push({ source: s.rootfs, target: x.target, readonly: true });
    }
    if (run.prepareWork) mounts.push(...(await run.prepareWork(work)));
    for (const m of run.mounts ?? []) {
      const st = await inspectPath(snap.rootfs, m.target);
      if (st === 'symlink') throw new TsbuildError('TSB_LAYER_UNSAFE', `mount target ${m.target} is a symlink in the image; tsbuild refuses to mount there`);
      // A mount point the image did not have is a placeholder; what is mounted never enters a layer.
      skip.push(m.target);
      if (m.create) await mkdir(m.source, { recursive: true });
      mounts.push({ source: m.source, target: m.target, ...(m.readonly ? { readonly: true } : {}) });
      if (st === 'missing') pruneIfEmpty.push(m.target, ...(await missingAncestors(snap.rootfs, m.target)));
      if (m.lock) releases.push(await acquireFileLock(m.lock, signal));
    }
    await makeMountParents(snap.rootfs, mounts);
    // Resolved inside the image first: a hostile WorkingDir is refused before anything is created.
    const cwd = run.createWorkdir && ctx.resolveWorkdir ? ctx.resolveWorkdir(snap.rootfs, run.cwd, run.image ?? run.what) : run.cwd;
    if (run.createWorkdir) await ensureWorkdir(snap.rootfs, cwd);
    const user = typeof run.user === 'string' ? await resolveUser(snap.rootfs, run.user) : run.user;
    const tail = new OutputTail(TAIL_LINES);
    const {
      key: _k,
      what: _w,
      user: _u,
      mode: _m,
      images: _i,
      prepareWork: _p,
      beforeRun: _b,
      createWorkdir: _c,
      beforeExec,
      onOutput,
      inheritStdio,
      describeFailure,
      commit,
      ...proc
    } = run;
    const exec: ProcessToRun = { argv: [...proc.argv], env: [...proc.env], cwd, uid: user.uid, gid: user.gid };
    if (beforeExec) await beforeExec(snap.rootfs, exec);
    // The threads that write the layer start while the stage runs, not after it.
    if (commit) warmLayerWriter(ctx.layerCompression);
    const result = await ctx.sandbox.run(
      { ...proc, ...exec, mounts: [...mounts], rootfs: snap.rootfs },
      inheritStdio
        ? { ...signal, inheritStdio: true }
        : {
            ...signal,
            onOutput: (chunk) => {
              tail.push(chunk);
              onOutput?.(chunk);
            },
          },
    );
    if (!commit) return { exitCode: result.exitCode };
    if (result.exitCode !== 0) {
      throw describeFailure
        ? await describeFailure(result.exitCode, work, tail.lines())
        : new TsbuildError('TSB_STAGE_FAILED', `${run.what}: exited with ${result.exitCode}`);
    }
    const committed = await ctx.snapshotter.commit(run.key, {
      skip,
      pruneIfEmpty,
      compression: ctx.layerCompression,
      ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
      ...signal,
    });
    const image = await writeDerivedImage(ctx.store, parent, {
      layer: { descriptor: committed.descriptor, diffId: committed.diffId },
      history: commit.history,
      ...(commit.annotations ? { annotations: commit.annotations } : {}),
    });
    return { exitCode: 0, image };
  } catch (err) {
    if (err instanceof TsbuildError) throw err;
    throw new TsbuildError('TSB_INTERNAL', `${run.what}: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const release of releases) await release();
    for (const key of keys) await ctx.snapshotter.remove(key);
    await removeTree(work); // (the status dir in it is the step's to write)
  }
}

/** `tsbuild run`: bwrap mounts /proc and /dev; a symlink there would point them elsewhere. */
async function refuseSymlinks(rootfs: string): Promise<Record<string, never>> {
  for (const t of ['/proc', '/dev']) {
    if ((await inspectPath(rootfs, t)) === 'symlink')
      throw new TsbuildError('TSB_LAYER_UNSAFE', `the image has a symlink at ${t}; tsbuild refuses to mount there`);
  }
  return {};
}

/**
 * Decide the sandbox's own mounts for a build stage. Mount targets are checked component by
 * component without following symlinks: a hostile image with `/.tsbuild -> /host/path` must not
 * make bwrap create or mount anything outside the root. Targets absent from the image are bwrap
 * placeholders and are left out of the layer.
 */
async function sandboxMounts(rootfs: string, work: string, network: 'host' | 'none'): Promise<{ mounts: BindMount[]; skip: string[] }> {
  const skip: string[] = [];
  for (const required of ['/proc', '/dev', TSBUILD_DIR]) {
    const st = await inspectPath(rootfs, required);
    if (st === 'symlink') {
      throw new TsbuildError('TSB_LAYER_UNSAFE', `the image has a symlink on the path ${required}; tsbuild refuses to mount there`, {
        hint: `remove ${required} from the base image (it must be a directory or absent)`,
      });
    }
    if (st === 'missing') skip.push(required);
  }
  await mkdir(join(work, 'script'), { recursive: true });
  await mkdir(join(work, 'status'), { recursive: true });
  const mounts: BindMount[] = [
    { source: BASH_STATIC, target: BASH_IN_SANDBOX, readonly: true },
    { source: join(work, 'script'), target: `${TSBUILD_DIR}/script`, readonly: true },
    { source: join(work, 'status'), target: STATUS_IN_SANDBOX },
  ];
  if (network === 'host' && (await inspectPath(rootfs, '/etc')) === 'dir') {
    for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
      const st = await inspectPath(rootfs, f);
      // A symlinked resolv.conf (systemd images) is left alone rather than followed.
      if (st === 'symlink' || !(await exists(f))) continue;
      if (st === 'missing') skip.push(f);
      mounts.push({ source: f, target: f, readonly: true });
    }
  }
  return { mounts, skip };
}

/** Ancestors of `path` that the image does not have (bwrap creates them for the mount point). */
async function missingAncestors(rootfs: string, path: string): Promise<string[]> {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if ((await inspectPath(rootfs, p)) === 'missing') out.push(p);
  }
  return out;
}

/** What a path is inside the root, never following a symlink on the way. */
export async function inspectPath(rootfs: string, path: string): Promise<'missing' | 'symlink' | 'dir' | 'other'> {
  let p = rootfs;
  const parts = path.split('/').filter(Boolean);
  for (let i = 0; i < parts.length; i++) {
    p = join(p, parts[i]!);
    let st;
    try {
      st = await lstat(p);
    } catch {
      return 'missing';
    }
    if (st.isSymbolicLink()) return 'symlink';
    if (i === parts.length - 1) return st.isDirectory() ? 'dir' : 'other';
    if (!st.isDirectory()) return 'other';
  }
  return 'dir';
}

/**
 * The missing parents of mount points, made as Docker makes them (root, 0755). bwrap would make them
 * 0700: a step running as another user (ansible `become`, `su`) could then not reach /.tsbuild/bin/bash
 * or its script, and a layer recorded such a directory root-only when the step wrote beside a mount
 * (`mount: to: /app/cache` on an image without /app gave /app mode 0700). Only missing components are
 * made (never below a symlink: missingAncestors stops there); empty ones are pruned after the run.
 */
async function makeMountParents(rootfs: string, mounts: readonly BindMount[]): Promise<void> {
  for (const m of mounts) {
    for (const dir of await missingAncestors(rootfs, m.target)) {
      await mkdir(join(rootfs, dir));
      await chmod(join(rootfs, dir), 0o755);
    }
  }
}

/** Docker creates a missing WORKDIR; only do it when no component is a symlink (hostile images). */
async function ensureWorkdir(rootfs: string, cwd: string): Promise<void> {
  let p = rootfs;
  for (const part of cwd.split('/').filter(Boolean)) {
    p = join(p, part);
    try {
      const st = await lstat(p);
      if (st.isSymbolicLink() || !st.isDirectory()) return; // let the sandbox resolve it inside the new root
    } catch {
      await mkdir(p);
    }
  }
}

class OutputTail {
  private buf = '';
  constructor(private readonly max: number) {}
  push(chunk: Buffer): void {
    this.buf += chunk.toString('utf8');
    if (this.buf.length > 64 * 1024) this.buf = this.buf.slice(-32 * 1024);
  }
  lines(): string[] {
    const ls = this.buf.replace(/\n$/, '').split('\n');
    return ls.length === 1 && ls[0] === '' ? [] : ls.slice(-this.max);
  }
}
