// beforeInstall, install, beforeSetup, setup: the user's shell commands plus cache versions
// (werf-spec §2.4: a stage exists when it has commands or any cache version applies to it).
import type { UserStageName } from '../../config/index.js';
import { TsbuildError } from '../../errors.js';
import type { Stage } from '../stage.js';
import { runShellStage } from '../run-in-stage.js';

export function userStage(name: UserStageName): Stage {
  return {
    name,
    inputs(ctx) {
      const ins = ctx.image.instructions;
      if (!ins) return undefined;
      const stageCacheVersion = ins.stageCacheVersions[name] ?? null;
      const cacheVersion = ins.cacheVersion ?? null;
      const commands = ins.stages[name];
      if (commands.length === 0 && stageCacheVersion === null && cacheVersion === null) return undefined;
      return { builder: ins.kind, commands, stageCacheVersion, cacheVersion };
    },
    async build(parent, ctx) {
      const ins = ctx.image.instructions;
      if (!parent || !ins) throw new TsbuildError('TSB_INTERNAL', `${name} built without a parent stage`);
      if (ins.kind !== 'shell') {
        throw new TsbuildError('TSB_CONFIG_SCHEMA', `image "${ctx.image.name}": ansible instructions are not supported yet`, {
          hint: 'use shell instructions for now',
        });
      }
      return runShellStage(parent, ctx, {
        stage: name,
        commands: ins.stages[name],
        history: `tsbuild ${name}: ${ins.stages[name].join(' && ').slice(0, 200)}`,
      });
    },
  };
}
