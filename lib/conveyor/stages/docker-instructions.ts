// dockerInstructions: the image's `docker:` directives applied to the config; no filesystem change.
import { writeDerivedImage } from '../../image/index.js';
import { TsbuildError } from '../../errors.js';
import { applyDocker } from '../docker-config.js';
import type { Stage } from '../stage.js';

export const dockerInstructionsStage: Stage = {
  name: 'dockerInstructions',
  inputs(ctx) {
    const d = ctx.image.docker;
    if (!d || ctx.image.disableGitAfterPatch) return undefined;
    return {
      VOLUME: d.VOLUME,
      EXPOSE: d.EXPOSE,
      ENV: d.ENV,
      LABEL: d.LABEL,
      ENTRYPOINT: d.ENTRYPOINT ?? null,
      CMD: d.CMD ?? null,
      WORKDIR: d.WORKDIR ?? null,
      USER: d.USER ?? null,
      HEALTHCHECK: d.HEALTHCHECK ?? null,
    };
  },
  async build(parent, ctx) {
    if (!ctx.image.docker) throw new TsbuildError('TSB_INTERNAL', 'dockerInstructions built without docker directives');
    const config = applyDocker(parent.config.config, ctx.image.docker);
    return writeDerivedImage(ctx.store, parent, { config, history: 'tsbuild dockerInstructions' });
  },
};
