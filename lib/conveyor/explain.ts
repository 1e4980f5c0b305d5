// Why a stage is rebuilt: the inputs that differ from the closest stored stage of the same image.
import { canonicalJson } from '../internal/canonical-json.js';
import type { StoredStage } from '../storage/index.js';

export function explainRebuild(
  stage: string,
  inputs: Record<string, unknown>,
  parent: string | null,
  candidates: StoredStage[],
  parentStageName: string | undefined,
): string {
  if (candidates.length === 0) return `${stage}: no stored stage for this image yet`;
  let best: { changed: string[]; parentChanged: boolean } | undefined;
  for (const c of candidates) {
    const keys = new Set([...Object.keys(inputs), ...Object.keys(c.inputs)]);
    const changed = [...keys].filter((k) => canonicalJson(inputs[k]) !== canonicalJson(c.inputs[k])).sort();
    const parentChanged = (c.parent ?? null) !== parent;
    const score = changed.length * 2 + (parentChanged ? 1 : 0);
    const bestScore = best ? best.changed.length * 2 + (best.parentChanged ? 1 : 0) : Infinity;
    if (score < bestScore) best = { changed, parentChanged };
  }
  const b = best!;
  if (b.changed.length > 0) return `${stage}: ${b.changed.map(describeKey).join(', ')} changed`;
  if (b.parentChanged) return `${stage}: previous stage${parentStageName ? ` (${parentStageName})` : ''} changed`;
  return `${stage}: stored stage missing`;
}

function describeKey(key: string): string {
  switch (key) {
    case 'commands':
      return 'commands';
    case 'base':
      return 'base image';
    default:
      return key;
  }
}
