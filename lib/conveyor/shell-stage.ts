// A shell user stage: the commands as one `bash -e` script run by the stage runner; a failure names
// the command that failed (from the script's trap) with the last output lines.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StageFailedError } from '../errors.js';
import type { StoredImage } from '../image/index.js';
import { runInStage, stageEnv } from './run-in-stage.js';
import { BASH_IN_SANDBOX, SCRIPT_IN_SANDBOX, parseFailure, shellScript } from './shell-script.js';
import type { BuildContext } from './stage.js';

export interface ShellStageOptions {
  stage: string;
  commands: string[];
  history: string;
  annotations?: Record<string, string>;
  /** Runs on the prepared root filesystem before the commands (git sources brought up to date). */
  beforeRun?: (rootfs: string) => Promise<void>;
}

export async function runShellStage(parent: StoredImage, ctx: BuildContext, opts: ShellStageOptions): Promise<StoredImage> {
  const cfg = parent.config.config ?? {};
  const { image } = await runInStage(parent, ctx, {
    key: `${ctx.project}-${ctx.image.name || 'image'}-${opts.stage}`,
    what: `image "${ctx.image.name}", stage ${opts.stage}`,
    image: `image "${ctx.image.name || '~'}"`,
    mode: 'stage',
    argv: [BASH_IN_SANDBOX, '-e', SCRIPT_IN_SANDBOX],
    env: stageEnv(cfg),
    cwd: cfg.WorkingDir || '/',
    user: { uid: 0, gid: 0 },
    network: ctx.image.network === 'none' ? 'none' : 'host',
    mounts: ctx.mounts,
    async prepareWork(work) {
      await writeFile(join(work, 'script', 'run.sh'), shellScript(opts.commands), { mode: 0o644 });
      return [];
    },
    ...(opts.beforeRun ? { beforeRun: opts.beforeRun } : {}),
    onOutput: (chunk) => ctx.onEvent({ type: 'stage.output', image: ctx.image.name, stage: opts.stage, chunk: chunk.toString('utf8') }),
    async describeFailure(exitCode, work, lastLines) {
      const failure = parseFailure(await readFile(join(work, 'status', 'failed'), 'utf8').catch(() => ''));
      const command = failure ? (opts.commands[failure.index] ?? '') : opts.commands.join('; ');
      return new StageFailedError({
        imageName: ctx.image.name,
        stage: opts.stage,
        exitCode: failure?.exitCode ?? exitCode,
        command: command.length > 500 ? `${command.slice(0, 500)}…` : command,
        lastLines,
      });
    },
    commit: { history: opts.history, ...(opts.annotations ? { annotations: opts.annotations } : {}) },
  });
  return image!;
}
