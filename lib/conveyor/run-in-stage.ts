// Run commands on top of a parent stage image in the sandbox and turn the changes into a layer.
import { mkdir, mkdtemp, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { StageFailedError, TsbuildError } from '../errors.js';
import { layerSources, writeDerivedImage, type StoredImage } from '../image/index.js';
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

/** In-image paths the sandbox mounts over; those absent from the parent are bwrap placeholders. */
const MOUNT_TARGETS = ['/proc', '/dev', TSBUILD_DIR, '/etc/resolv.conf', '/etc/hosts'];

async function missingTargets(rootfs: string): Promise<string[]> {
  const out: string[] = [];
  for (const t of MOUNT_TARGETS) {
    try {
      await lstat(join(rootfs, t));
    } catch {
      out.push(t);
    }
  }
  return out;
}

export interface RunStageOptions {
  stage: string;
  commands: string[];
  history: string;
  annotations?: Record<string, string>;
}

export async function runShellStage(parent: StoredImage, ctx: BuildContext, opts: RunStageOptions): Promise<StoredImage> {
  const key = `${ctx.project}-${ctx.image.name || 'image'}-${opts.stage}`;
  const work = await mkdtemp(join(ctx.tmpDir, 'stage-'));
  try {
    const snap = await ctx.snapshotter.prepare(key, layerSources(ctx.store, parent), ctx.signal ? { signal: ctx.signal } : {});
    const skip = await missingTargets(snap.rootfs);
    await mkdir(join(work, 'script'));
    await mkdir(join(work, 'status'));
    await writeFile(join(work, 'script', 'run.sh'), shellScript(opts.commands), { mode: 0o644 });
    const mounts: BindMount[] = [
      { source: BASH_STATIC, target: BASH_IN_SANDBOX, readonly: true },
      { source: join(work, 'script'), target: `${TSBUILD_DIR}/script`, readonly: true },
      { source: join(work, 'status'), target: STATUS_IN_SANDBOX },
    ];
    const network = ctx.image.network === 'none' ? 'none' : 'host';
    if (network === 'host') {
      for (const f of ['/etc/resolv.conf', '/etc/hosts']) {
        if (await exists(f)) mounts.push({ source: f, target: f, readonly: true });
      }
    }
    const tail = new OutputTail(TAIL_LINES);
    const cfg = parent.config.config ?? {};
    const result = await ctx.sandbox.run(
      {
        rootfs: snap.rootfs,
        argv: [BASH_IN_SANDBOX, '-e', SCRIPT_IN_SANDBOX],
        env: stageEnv(cfg),
        cwd: cfg.WorkingDir || '/',
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
    const committed = await ctx.snapshotter.commit(key, { skip, ...(ctx.signal ? { signal: ctx.signal } : {}) });
    return await writeDerivedImage(ctx.store, parent, {
      layer: { descriptor: committed.descriptor, diffId: committed.diffId },
      history: opts.history,
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    });
  } catch (err) {
    if (err instanceof TsbuildError) throw err;
    throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}", stage ${opts.stage}: ${(err as Error).message}`, { cause: err });
  } finally {
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
    return ls.slice(-this.max).filter((l, i, a) => !(a.length === 1 && l === ''));
  }
}

async function exists(p: string): Promise<boolean> {
  try {
    await lstat(p);
    return true;
  } catch {
    return false;
  }
}
