// Overlapping git mappings of one image (werf-spec §3.4, "auto-excluding"): when mapping B lands
// inside mapping A's `to`, A excludes what B brings so the two never write the same files; two
// mappings that would both own the same place are a config error.
import { posix } from 'node:path';
import type { GitMappingSpec } from '../config/index.js';
import { ConfigError } from '../errors.js';

function inside(parent: string, child: string): string | undefined {
  if (parent === child) return '';
  const p = parent === '/' ? '/' : `${parent}/`;
  return child.startsWith(p) ? child.slice(p.length) : undefined;
}

/**
 * Returns the mappings with excludePaths extended. Difference from werf, on purpose: a mapping
 * nested strictly inside another is auto-excluded even when neither has includePaths (werf reports
 * a conflict there); only two mappings with the same `to` and no includePaths conflict.
 */
export function autoExclude(specs: GitMappingSpec[], imageName: string): GitMappingSpec[] {
  const out = specs.map((s) => ({ ...s, excludePaths: [...s.excludePaths] }));
  for (let a = 0; a < out.length; a++) {
    for (let b = 0; b < out.length; b++) {
      if (a === b) continue;
      const A = out[a]!;
      const B = specs[b]!;
      const rel = inside(A.to, B.to);
      if (rel === undefined) continue;
      if (rel === '' && A.includePaths.length === 0 && B.includePaths.length === 0) {
        throw new ConfigError(
          `image "${imageName}": git mappings ${a + 1} (add ${A.add}) and ${b + 1} (add ${B.add}) both write everything to ${A.to}`,
          { file: B.position.file, line: B.position.line },
          { hint: 'give one of them includePaths, or a different `to`' },
        );
      }
      if (rel === '' && b < a) continue; // same `to`: the later mapping wins the paths it names
      const effective = B.includePaths.length > 0 ? B.includePaths.map((i) => (rel === '' ? i : posix.join(rel, i))) : [rel];
      for (const e of effective) {
        if (A.includePaths.includes(e)) {
          throw new ConfigError(
            `image "${imageName}": git mappings ${a + 1} and ${b + 1} both include "${e}" under ${A.to}`,
            { file: B.position.file, line: B.position.line },
            {
              hint: 'keep the path in one mapping only',
            },
          );
        }
        if (e !== '' && !A.excludePaths.includes(e)) A.excludePaths.push(e);
      }
    }
  }
  return out;
}
