// Run one ansible stage: the parent's snapshot as root, the toolchain's snapshot mounted read-only
// at /.tsbuild/stapel, the generated playbook at /.tsbuild/ansible and ansible's tmp at
// /.tsbuild/ansible-tmp; ansible-playbook started by the static bash, so bases without /bin/sh work.
// Only what the tasks changed in the image becomes the layer.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageFailedError } from '../../errors.js';
import type { StoredImage } from '../../image/index.js';
import type { BuildContext } from '../stage.js';
import { runInStage, stageEnv } from '../run-in-stage.js';
import { BASH_IN_SANDBOX } from '../shell-script.js';
import { ANSIBLE_DIR_IN_SANDBOX, ANSIBLE_TMP_IN_SANDBOX, STAPEL_ANSIBLE_PLAYBOOK, STAPEL_IN_SANDBOX } from '../../stapel/index.js';
import { PLAYBOOK_IN_SANDBOX, ansibleConfigText, ansibleEnv, inventoryText, playbookText } from './playbook.js';
import { CALLBACK_FILE, callbackSource } from './callback.js';

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
  const cfg = parent.config.config ?? {};
  const { image } = await runInStage(parent, ctx, {
    key: `${ctx.project}-${ctx.image.name || 'image'}-${opts.stage}`,
    what: `image "${ctx.image.name}", stage ${opts.stage}`,
    image: `image "${ctx.image.name || '~'}"`,
    mode: 'stage',
    // ansible's stderr (its ERROR! lines) joins stdout: one stream keeps the order of what it says.
    argv: [BASH_IN_SANDBOX, '-c', 'exec "$0" "$1" 2>&1', `${STAPEL_IN_SANDBOX}/${STAPEL_ANSIBLE_PLAYBOOK}`, PLAYBOOK_IN_SANDBOX],
    env: [...ansibleEnv(stageEnv(cfg)), `TSBUILD_PYTHON_TMPDIR=${ANSIBLE_TMP_IN_SANDBOX}/py`],
    cwd: cfg.WorkingDir || '/',
    user: { uid: 0, gid: 0 },
    network: ctx.image.network === 'none' ? 'none' : 'host',
    // The same mounts as shell stages, secrets read-only (this copy once dropped `readonly`).
    mounts: ctx.mounts,
    images: [{ image: opts.toolchain, target: STAPEL_IN_SANDBOX }],
    async prepareWork(work) {
      for (const d of ['ansible/callback', 'tmp/local', 'tmp/remote', 'tmp/home', 'tmp/py']) await mkdir(join(work, d), { recursive: true });
      await writeFile(join(work, 'ansible', 'playbook.yml'), playbookText(opts.tasks));
      await writeFile(join(work, 'ansible', 'hosts'), inventoryText());
      await writeFile(join(work, 'ansible', 'ansible.cfg'), ansibleConfigText());
      await writeFile(join(work, 'ansible', 'callback', CALLBACK_FILE), callbackSource(opts.stage));
      return [
        { source: join(work, 'ansible'), target: ANSIBLE_DIR_IN_SANDBOX, readonly: true },
        { source: join(work, 'tmp'), target: ANSIBLE_TMP_IN_SANDBOX },
      ];
    },
    ...(opts.beforeRun ? { beforeRun: opts.beforeRun } : {}),
    onOutput: (chunk) => ctx.onEvent({ type: 'stage.output', image: ctx.image.name, stage: opts.stage, chunk: chunk.toString('utf8') }),
    async describeFailure(exitCode, work, lastLines) {
      const failed = await readFile(join(work, 'tmp', 'failed.json'), 'utf8').then(
        (t) => JSON.parse(t) as FailedTask,
        () => undefined,
      );
      return new StageFailedError({
        imageName: ctx.image.name,
        stage: opts.stage,
        exitCode,
        command: failed ? describeFailure(opts.stage, failed) : 'ansible-playbook (it stopped before any task failed; see its output)',
        lastLines,
        ...(failed && /\bsudo: (command )?not found/.test(failed.msg ?? '') ? { hint: BECOME_HINT } : {}),
      });
    },
    commit: { history: opts.history },
  });
  return image!;
}

// werf's stapel brings its own sudo for `become`; the toolchain here has none, so it is the image's.
const BECOME_HINT =
  '`become` runs the task through sudo, which the image does not have: install sudo in an earlier stage, ' +
  'or drop `become` and switch users in the command itself (`su -s /bin/sh USER -c …`)';

function describeFailure(stage: string, f: FailedTask): string {
  const where = `task ${stage}[${f.index ?? '?'}]${f.name && f.name !== f.module ? ` "${f.name}"` : ''} (module ${f.module})`;
  const msg = (f.msg || f.stderr || '').trim();
  const short = msg.length > 800 ? `${msg.slice(0, 800)}…` : msg;
  return `${where}${f.rc !== undefined && f.rc !== null ? ` exited with ${f.rc}` : ' failed'}${short ? `: ${short}` : ''}`;
}
