// The chain key of an image with git mappings: what a runner can compute before looking anything
// up (project, image, the commit of every mapping). A stages repository tags the last stage the
// image resolved to under it (`chain-<key>`), and that stage's record lists every stage of the image
// with the state it carries forward — so a fully cached git image costs one request instead of one
// per stage (each git stage's signature depends on the commits its stored parent recorded).
// The key only finds a candidate: resolveImage recomputes every signature from the chain's states
// and uses the chain only where they agree, so a stale or foreign tag costs a request, never a
// wrong stage.
import { sha256Hex } from '../digest.js';
import { canonicalJson } from '../internal/canonical-json.js';
import { currentCommits } from './git-sources.js';
import type { PlanContext } from './stage.js';

export function stageChainKey(ctx: Pick<PlanContext, 'project' | 'image' | 'git'>): string {
  return sha256Hex(canonicalJson({ v: 'tsbuild.stage-chain/1', project: ctx.project, image: ctx.image.name, commits: currentCommits(ctx.git) }));
}
