// What a build would hit in an image's git mappings, said before it runs (`plan` and `build` alike,
// once per image): an `add` that names nothing at the commit (the build fails on it), stageDependencies
// of a stage that has no instructions (werf v2 warns: they change nothing), masks that select
// nothing, and a `to:` ending in "/" over a single-file `add` (werf drops the "/": the file becomes
// `to` itself, not a file inside it). Read from the commit's tree listing the build already holds.
import type { ImageSpec, SourcePosition } from '../config/index.js';
import type { BuildEvent } from '../events.js';
import { MaskSet, readMappingTree, stageDependencies, type TreeFile, type UserStageWithGit } from '../git/index.js';
import type { GitSource } from './git-sources.js';

type Warning = Extract<BuildEvent, { type: 'warning' }>;

/** `sources` are the image's mappings as GitSources.forImage returns them (same order as `image.git`). */
export async function gitMappingWarnings(image: ImageSpec, sources: readonly GitSource[]): Promise<Warning[]> {
  const out: Warning[] = [];
  for (const [i, source] of sources.entries()) {
    // The mapping as written: the overlap handling's added excludes are not the user's masks.
    const spec = image.git[i] ?? source.spec;
    const warn = (at: SourcePosition | undefined, what: string): void => {
      const where = at ?? spec.position;
      out.push({
        type: 'warning',
        message: `${where.file}:${where.line}: image "${image.name || '~'}", git mapping ${i + 1}: ${what}`,
        file: where.file,
        line: where.line,
      });
    };
    const stages = Object.entries(spec.stageDependencies) as Array<[UserStageWithGit, string[]]>;
    for (const [stage] of stages)
      if (!hasInstructions(image, stage))
        warn(
          spec.at?.stageDependencies[stage]?.key,
          `stageDependencies.${stage} is given but the image has no ${stage} instructions: it has no effect (add ${stage} commands or remove it)`,
        );
    const commit = source.commit.slice(0, 12);
    const all = await readMappingTree(source.repo, source.commit, { add: spec.add, to: spec.to });
    if (all.addKind === 'none') {
      warn(spec.at?.add, `add "${spec.add}" names nothing at commit ${commit}: the build fails on it (fix the path or commit it)`);
      continue;
    }
    if (all.addKind === 'file') {
      const written = spec.toWritten ?? spec.to;
      if (written.endsWith('/')) {
        const name = spec.add.slice(spec.add.lastIndexOf('/') + 1);
        warn(
          spec.at?.to,
          spec.to === '/'
            ? `add "${spec.add}" is a file and to is "/": the file would have no name of its own in the image: the build fails on it (werf refuses it too); write to: /${name} or the path it should have`
            : `to "${written}" ends with "/" but add "${spec.add}" is a file: it is written as ${spec.to} itself (the "/" is dropped, as werf does), not as ${spec.to}/${name}; write to: ${spec.to}/${name} if that is meant`,
        );
      }
    } else {
      const files = all.files;
      const unmatched = (masks: readonly string[], among: readonly TreeFile[]): number[] =>
        masks.flatMap((mask, j) => {
          const set = new MaskSet([mask]);
          return among.some((f) => set.matches(f.path)) ? [] : [j];
        });
      for (const j of unmatched(spec.includePaths, files))
        warn(spec.at?.includePaths[j], `includePaths mask "${spec.includePaths[j]}" matches no file under "${spec.add}" at commit ${commit}`);
      const included = spec.includePaths.length > 0 ? files.filter((f) => new MaskSet(spec.includePaths).matches(f.path)) : files;
      for (const j of unmatched(spec.excludePaths, included))
        warn(
          spec.at?.excludePaths[j],
          `excludePaths mask "${spec.excludePaths[j]}" matches no file the mapping includes at commit ${commit}: it excludes nothing`,
        );
    }
    // A single file: the masks select it or not, nothing to tell.
    const used = all.addKind === 'dir' ? stages.filter(([stage]) => hasInstructions(image, stage)) : [];
    for (const [stage, masks] of used) {
      // The same selection the build hashes for the stage (the mapping with its overlap excludes).
      const { unmatchedMasks } = await stageDependencies(source.repo, source.commit, source.spec, masks);
      for (const [j, mask] of masks.entries())
        if (unmatchedMasks.includes(mask))
          warn(
            spec.at?.stageDependencies[stage]?.masks[j],
            `stageDependencies.${stage} mask "${mask}" matches no file of the mapping at commit ${commit}: no change there rebuilds ${stage}`,
          );
    }
  }
  return out;
}

function hasInstructions(image: ImageSpec, stage: UserStageWithGit): boolean {
  return (image.instructions?.stages[stage].length ?? 0) > 0;
}
