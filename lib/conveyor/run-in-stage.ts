// Run commands on top of a parent stage image in the sandbox and turn the changes into a layer.
import { mkdir, mkdtemp, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { StageFailedError, TsbuildError } from '../errors.js';
import { acquireFileLock } from '../internal/file-lock.js';
import { pathExists as exists } from '../internal/atomic-write.js';
import { writeDerivedImage, type StoredImage } from '../image/index.js';
import type { BindMount } from '../sandbox/index.js';
import type { BuildContext } from './stage.js';
import { BASH_IN_SANDBOX, SCRIPT_IN_SANDBOX, STATUS_IN_SANDBOX, TSBUILD_DIR, parseFailure, shellScript } from './shell-script.js';

export const BASH_STATIC = '/usr/bin/bash-static';
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const TAIL_LINES = 20;

export function stageEnv(config: StoredImage['config']['config']): string[] {
  const env = [...(config?.Env ?? [])];
  const has = (k: string): boolean => env.some((e) => e.startsWith(`${k}=`));
  if (!has('PATH')) env.push(`PATH=${DEFAULT_PATH}`);
  if (!has('HOME')) env.push('HOME=/root');
  return env;
}

/**
 * Decide the sandbox's own mounts for a root filesystem. Mount targets are checked component by
 * component without following symlinks: a hostile image with `/.tsbuild -> /host/path` must not
 * make bwrap create or mount anything outside the root. Targets absent from the image are bwrap
 * placeholders and are left out of the layer.
 */
export async function sandboxMounts(rootfs: string, work: string, network: 'host' | 'none'): Promise<{ mounts: BindMount[]; skip: string[] }> {
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

export interface RunStageOptions {
  stage: string;
  commands: string[];
  history: string;
  annotations?: Record<string, string>;
  /** Runs on the prepared root filesystem before the commands (git sources brought up to date). */
  beforeRun?: (rootfs: string) => Promise<void>;
}

export async function runShellStage(parent: StoredImage, ctx: BuildContext, opts: RunStageOptions): Promise<StoredImage> {
  const key = `${ctx.project}-${ctx.image.name || 'image'}-${opts.stage}`;
  const work = await mkdtemp(join(ctx.tmpDir, 'stage-'));
  const releases: Array<() => Promise<void>> = [];
  try {
    const snap = await ctx.snapshotter.prepare(key, ctx.layers(parent), ctx.signal ? { signal: ctx.signal } : {});
    if (opts.beforeRun) await opts.beforeRun(snap.rootfs);
    await mkdir(join(work, 'script'));
    await mkdir(join(work, 'status'));
    await writeFile(join(work, 'script', 'run.sh'), shellScript(opts.commands), { mode: 0o644 });
    const network = ctx.image.network === 'none' ? 'none' : 'host';
    const { mounts, skip } = await sandboxMounts(snap.rootfs, work, network);
    const pruneIfEmpty: string[] = [...skip];
    for (const m of ctx.mounts) {
      const st = await inspectPath(snap.rootfs, m.target);
      if (st === 'symlink') {
        throw new TsbuildError('TSB_LAYER_UNSAFE', `mount target ${m.target} is a symlink in the image; tsbuild refuses to mount there`);
      }
      // A mount point the image did not have is a placeholder; what is mounted never enters a layer.
      skip.push(m.target);
      mounts.push({ source: m.source, target: m.target, ...(m.readonly ? { readonly: true } : {}) });
      if (st === 'missing') pruneIfEmpty.push(m.target, ...(await missingAncestors(snap.rootfs, m.target)));
      if (m.lock) releases.push(await acquireFileLock(m.lock, ctx.signal ? { signal: ctx.signal } : {}));
    }
    const tail = new OutputTail(TAIL_LINES);
    const cfg = parent.config.config ?? {};
    const result = await ctx.sandbox.run(
      {
        rootfs: snap.rootfs,
        argv: [BASH_IN_SANDBOX, '-e', SCRIPT_IN_SANDBOX],
        env: stageEnv(cfg),
        cwd: cfg.WorkingDir || '/',
        image: `image "${ctx.image.name || '~'}"`,
        uid: 0,
        gid: 0,
        network,
        mounts,
      },
      {
        ...(ctx.signal ? { signal: ctx.signal } : {}),
        onOutput: (chunk) => {
          tail.push(chunk);
          ctx.onEvent({ type: 'stage.output', image: ctx.image.name, stage: opts.stage, chunk: chunk.toString('utf8') });
        },
      },
    );
    if (result.exitCode !== 0) {
      const failure = parseFailure(await readFile(join(work, 'status', 'failed'), 'utf8').catch(() => ''));
      const command = failure ? (opts.commands[failure.index] ?? '') : opts.commands.join('; ');
      throw new StageFailedError({
        imageName: ctx.image.name,
        stage: opts.stage,
        exitCode: failure?.exitCode ?? result.exitCode,
        command: command.length > 500 ? `${command.slice(0, 500)}…` : command,
        lastLines: tail.lines(),
      });
    }
    const committed = await ctx.snapshotter.commit(key, { skip, pruneIfEmpty, compression: ctx.layerCompression, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    return await writeDerivedImage(ctx.store, parent, {
      layer: { descriptor: committed.descriptor, diffId: committed.diffId },
      history: opts.history,
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    });
  } catch (err) {
    if (err instanceof TsbuildError) throw err;
    throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}", stage ${opts.stage}: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const release of releases) await release();
    await ctx.snapshotter.remove(key);
    await rm(work, { recursive: true, force: true });
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
