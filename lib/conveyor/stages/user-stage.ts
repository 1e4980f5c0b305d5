// beforeInstall, install, beforeSetup, setup: the user's shell commands plus cache versions
// (werf-spec §2.4: a stage exists when it has commands or any cache version applies to it). With git
// mappings, install/beforeSetup/setup also depend on the commits of the parent and on the files
// their stageDependencies select; a rebuilt one first brings the sources up to the current commit.
import type { UserStageName } from '../../config/index.js';
import { TsbuildError } from '../../errors.js';
import { stageDependencies } from '../../git/index.js';
import type { Stage } from '../stage.js';
import { runShellStage } from '../shell-stage.js';
import { currentCommits } from '../git-sources.js';
import { applyChanges } from '../git-patch.js';
import { normalisedTasks, runAnsibleStage, stapelToolchain, stapelToolchainDigest } from '../ansible/index.js';

const GIT_STAGES: readonly UserStageName[] = ['install', 'beforeSetup', 'setup'];

export function userStage(name: UserStageName): Stage {
  const withGit = GIT_STAGES.includes(name);
  return {
    name,
    async inputs(ctx, state) {
      const ins = ctx.image.instructions;
      if (!ins) return undefined;
      const stageCacheVersion = ins.stageCacheVersions[name] ?? null;
      const cacheVersion = ins.cacheVersion ?? null;
      const commands = ins.stages[name];
      if (commands.length === 0 && stageCacheVersion === null && cacheVersion === null) return undefined;
      const inputs: Record<string, unknown> = { builder: ins.kind, commands, stageCacheVersion, cacheVersion };
      if (ins.kind === 'ansible') {
        // Each task as canonical JSON, and the toolchain that runs them (werf-spec §2.4).
        inputs.commands = normalisedTasks(ins.stages[name]);
        inputs.stapel = await stapelToolchainDigest(ctx);
      }
      if (withGit && ctx.git.length > 0) {
        inputs.gitCommits = state.git ?? null;
        const deps: Array<{ mapping: string; checksum: string }> = [];
        for (const s of ctx.git) {
          const masks = s.spec.stageDependencies[name as 'install' | 'beforeSetup' | 'setup'];
          if (!masks || masks.length === 0) continue;
          // (masks that select nothing are reported once per image, with their line: git-warnings.ts)
          const r = await stageDependencies(s.repo, s.commit, s.spec, masks);
          deps.push({ mapping: s.id, checksum: r.checksum });
        }
        inputs.stageDependencies = deps;
      }
      return inputs;
    },
    builtState: (ctx, state) => (withGit && ctx.git.length > 0 ? { git: currentCommits(ctx.git) } : state),
    async build(parent, ctx, state) {
      const ins = ctx.image.instructions;
      if (!ins) throw new TsbuildError('TSB_INTERNAL', `${name} built without instructions`);
      const from = state.git;
      if (ins.kind === 'ansible') {
        return runAnsibleStage(parent, ctx, {
          stage: name,
          tasks: ins.stages[name],
          toolchain: await stapelToolchain(ctx),
          history: `tsbuild ${name}: ansible, ${ins.stages[name].length} tasks`,
          ...(withGit && ctx.git.length > 0 && from ? { beforeRun: (rootfs: string) => applyChanges(rootfs, ctx.git, from, ctx.signal) } : {}),
        });
      }
      return runShellStage(parent, ctx, {
        stage: name,
        commands: ins.stages[name],
        history: `tsbuild ${name}: ${ins.stages[name].join(' && ').slice(0, 200)}`,
        ...(withGit && ctx.git.length > 0 && from ? { beforeRun: (rootfs: string) => applyChanges(rootfs, ctx.git, from, ctx.signal) } : {}),
      });
    },
  };
}
