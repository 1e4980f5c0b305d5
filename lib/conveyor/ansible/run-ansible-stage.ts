// Run one ansible stage: the parent's snapshot as root, the toolchain's snapshot mounted read-only
// at /.tsbuild/stapel, the generated playbook at /.tsbuild/ansible and ansible's tmp at
// /.tsbuild/ansible-tmp; ansible-playbook started by the static bash, so bases without /bin/sh work.
// Only what the tasks changed in the image becomes the layer.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageFailedError, TsbuildError } from '../../errors.js';
import { acquireFileLock } from '../../internal/file-lock.js';
import { writeDerivedImage, type StoredImage } from '../../image/index.js';
import type { BindMount } from '../../sandbox/index.js';
import type { BuildContext } from '../stage.js';
import { inspectPath, sandboxMounts, stageEnv } from '../run-in-stage.js';
import { BASH_IN_SANDBOX } from '../shell-script.js';
import { ANSIBLE_DIR_IN_SANDBOX, ANSIBLE_TMP_IN_SANDBOX, STAPEL_ANSIBLE_PLAYBOOK, STAPEL_IN_SANDBOX } from '../../stapel/index.js';
import { PLAYBOOK_IN_SANDBOX, ansibleConfigText, ansibleEnv, inventoryText, playbookText } from './playbook.js';
import { CALLBACK_FILE, callbackSource } from './callback.js';

const TAIL_LINES = 20;

export interface AnsibleStageOptions {
  stage: string;
  tasks: readonly unknown[];
  toolchain: StoredImage;
  history: string;
  beforeRun?: (rootfs: string) => Promise<void>;
}

interface FailedTask {
  index: number | null;
  name: string;
  module: string;
  msg: string;
  rc?: number | null;
  stderr?: string;
}

export async function runAnsibleStage(parent: StoredImage, ctx: BuildContext, opts: AnsibleStageOptions): Promise<StoredImage> {
  const key = `${ctx.project}-${ctx.image.name || 'image'}-${opts.stage}`;
  const stapelKey = `${key}-stapel`;
  const work = await mkdtemp(join(ctx.tmpDir, 'ansible-'));
  const releases: Array<() => Promise<void>> = [];
  const signalOpt = ctx.signal ? { signal: ctx.signal } : {};
  try {
    const snap = await ctx.snapshotter.prepare(key, ctx.layers(parent), signalOpt);
    const stapel = await ctx.snapshotter.prepare(stapelKey, ctx.layers(opts.toolchain), signalOpt);
    if (opts.beforeRun) await opts.beforeRun(snap.rootfs);
    for (const d of ['script', 'status', 'ansible/callback', 'tmp/local', 'tmp/remote', 'tmp/home', 'tmp/py']) await mkdir(join(work, d), { recursive: true });
    await writeFile(join(work, 'ansible', 'playbook.yml'), playbookText(opts.tasks));
    await writeFile(join(work, 'ansible', 'hosts'), inventoryText());
    await writeFile(join(work, 'ansible', 'ansible.cfg'), ansibleConfigText());
    await writeFile(join(work, 'ansible', 'callback', CALLBACK_FILE), callbackSource(opts.stage));
    const network = ctx.image.network === 'none' ? 'none' : 'host';
    const { mounts, skip } = await sandboxMounts(snap.rootfs, work, network);
    const pruneIfEmpty: string[] = [...skip];
    mounts.push(
      { source: stapel.rootfs, target: STAPEL_IN_SANDBOX, readonly: true },
      { source: join(work, 'ansible'), target: ANSIBLE_DIR_IN_SANDBOX, readonly: true },
      { source: join(work, 'tmp'), target: ANSIBLE_TMP_IN_SANDBOX },
    );
    for (const m of ctx.mounts) {
      const st = await inspectPath(snap.rootfs, m.target);
      if (st === 'symlink') throw new TsbuildError('TSB_LAYER_UNSAFE', `mount target ${m.target} is a symlink in the image; tsbuild refuses to mount there`);
      skip.push(m.target);
      mounts.push({ source: m.source, target: m.target } satisfies BindMount);
      if (st === 'missing') pruneIfEmpty.push(m.target, ...(await missingAncestors(snap.rootfs, m.target)));
      if (m.lock) releases.push(await acquireFileLock(m.lock, signalOpt));
    }
    let output = '';
    const cfg = parent.config.config ?? {};
    const result = await ctx.sandbox.run(
      {
        rootfs: snap.rootfs,
        // ansible's stderr (its ERROR! lines) joins stdout: one stream keeps the order of what it says.
        argv: [BASH_IN_SANDBOX, '-c', 'exec "$0" "$1" 2>&1', `${STAPEL_IN_SANDBOX}/${STAPEL_ANSIBLE_PLAYBOOK}`, PLAYBOOK_IN_SANDBOX],
        env: [...ansibleEnv(stageEnv(cfg)), `TSBUILD_PYTHON_TMPDIR=${ANSIBLE_TMP_IN_SANDBOX}/py`],
        cwd: cfg.WorkingDir || '/',
        image: `image "${ctx.image.name || '~'}"`,
        uid: 0,
        gid: 0,
        network,
        mounts,
      },
      {
        ...signalOpt,
        onOutput: (chunk) => {
          output += chunk.toString('utf8');
          if (output.length > 64 * 1024) output = output.slice(-32 * 1024);
          ctx.onEvent({ type: 'stage.output', image: ctx.image.name, stage: opts.stage, chunk: chunk.toString('utf8') });
        },
      },
    );
    if (result.exitCode !== 0) {
      const failed = await readFile(join(work, 'tmp', 'failed.json'), 'utf8').then((t) => JSON.parse(t) as FailedTask, () => undefined);
      throw new StageFailedError({
        imageName: ctx.image.name,
        stage: opts.stage,
        exitCode: result.exitCode,
        command: failed ? describeFailure(opts.stage, failed) : 'ansible-playbook (it stopped before any task failed; see its output)',
        lastLines: tailLines(output),
      });
    }
    const committed = await ctx.snapshotter.commit(key, { skip, pruneIfEmpty, compression: ctx.layerCompression, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}), ...signalOpt });
    return await writeDerivedImage(ctx.store, parent, { layer: { descriptor: committed.descriptor, diffId: committed.diffId }, history: opts.history });
  } catch (err) {
    if (err instanceof TsbuildError) throw err;
    throw new TsbuildError('TSB_INTERNAL', `image "${ctx.image.name}", stage ${opts.stage}: ${(err as Error).message}`, { cause: err });
  } finally {
    for (const release of releases) await release();
    await ctx.snapshotter.remove(key);
    await ctx.snapshotter.remove(stapelKey);
    await rm(work, { recursive: true, force: true });
  }
}

function describeFailure(stage: string, f: FailedTask): string {
  const where = `task ${stage}[${f.index ?? '?'}]${f.name && f.name !== f.module ? ` "${f.name}"` : ''} (module ${f.module})`;
  const msg = (f.msg || f.stderr || '').trim();
  const short = msg.length > 800 ? `${msg.slice(0, 800)}…` : msg;
  return `${where}${f.rc !== undefined && f.rc !== null ? ` exited with ${f.rc}` : ' failed'}${short ? `: ${short}` : ''}`;
}

function tailLines(text: string): string[] {
  const ls = text.replace(/\n$/, '').split('\n');
  return ls.length === 1 && ls[0] === '' ? [] : ls.slice(-TAIL_LINES);
}

/** Ancestors of `path` the image does not have (bwrap creates them for the mount point). */
async function missingAncestors(rootfs: string, path: string): Promise<string[]> {
  const parts = path.split('/').filter(Boolean);
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const p = `/${parts.slice(0, i).join('/')}`;
    if ((await inspectPath(rootfs, p)) === 'missing') out.push(p);
  }
  return out;
}
