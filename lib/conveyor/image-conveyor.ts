// The stage conveyor as data (werf's order of stages), and the order images are built in.
import type { WerfConfig, ImageSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import type { AnyStage, BaseStage, Stage } from './stage.js';
import { fromStage } from './stages/from.js';
import { userStage } from './stages/user-stage.js';
import { dockerInstructionsStage } from './stages/docker-instructions.js';
import { importsStage } from './stages/imports.js';
import { imageSpecStage } from './stages/image-spec.js';
import { gitArchiveStage, gitCacheStage, gitLatestPatchStage } from './stages/git-stages.js';

export const IMAGE_CONVEYOR: readonly [BaseStage, ...Stage[]] & readonly AnyStage[] = [
  fromStage,
  userStage('beforeInstall'),
  importsStage('importsBeforeInstall', { before: 'install' }),
  gitArchiveStage,
  userStage('install'),
  importsStage('importsAfterInstall', { after: 'install' }),
  userStage('beforeSetup'),
  importsStage('importsBeforeSetup', { before: 'setup' }),
  userStage('setup'),
  importsStage('importsAfterSetup', { after: 'setup' }),
  gitCacheStage,
  gitLatestPatchStage,
  dockerInstructionsStage,
  imageSpecStage,
];

/** Images ordered so that every image comes after the images it is based on. */
export function buildOrder(config: WerfConfig, only: string[] = []): ImageSpec[] {
  const byName = new Map(config.images.map((i) => [i.name, i]));
  for (const n of only) {
    if (!byName.has(n)) {
      throw new TsbuildError('TSB_USAGE', `image "${n}" is not defined in ${config.file}`, {
        hint: `defined images: ${config.images.map((i) => i.name || '~').join(', ')}`,
      });
    }
  }
  const order: ImageSpec[] = [];
  const seen = new Set<string>();
  const visit = (img: ImageSpec): void => {
    if (seen.has(img.name)) return;
    seen.add(img.name);
    for (const d of imageDependencies(img, byName)) visit(byName.get(d)!);
    order.push(img);
  };
  const roots = only.length ? only.map((n) => byName.get(n)!) : config.images;
  for (const img of roots) visit(img);
  return order;
}

/** Names of the images of this config that `img` needs built first. */
export function imageDependencies(img: ImageSpec, byName: ReadonlyMap<string, ImageSpec>): string[] {
  const deps = [img.fromImage, img.fromArtifact, ...img.imports.map((i) => i.image ?? i.artifact), ...img.dependencies.map((d) => d.image)];
  if (img.from !== undefined && byName.has(img.from) && img.from !== img.name) deps.push(img.from);
  return [...new Set(deps.filter((d): d is string => d !== undefined && byName.has(d)))];
}
