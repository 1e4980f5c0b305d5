// Why a stage is rebuilt: the inputs that differ from the closest stored stage of the same image,
// with the files behind a stageDependencies change named from git.
import { canonicalJson } from '../internal/canonical-json.js';
import { MaskSet, addPath, changedPaths } from '../git/index.js';
import type { StoredStage } from '../storage/index.js';
import type { GitSource } from './git-sources.js';

export interface Explanation {
  text: string;
  changed: string[];
  closest?: StoredStage;
}

export function explainRebuild(
  stage: string,
  inputs: Record<string, unknown>,
  parent: string | null,
  candidates: StoredStage[],
  parentStageName: string | undefined,
): Explanation {
  if (candidates.length === 0) return { text: `${stage}: no stored stage for this image yet`, changed: [] };
  let best: { changed: string[]; parentChanged: boolean; c: StoredStage } | undefined;
  for (const c of candidates) {
    const keys = new Set([...Object.keys(inputs), ...Object.keys(c.inputs)]);
    const changed = [...keys].filter((k) => canonicalJson(inputs[k]) !== canonicalJson(c.inputs[k])).sort();
    const parentChanged = (c.parent ?? null) !== parent;
    const score = changed.length * 2 + (parentChanged ? 1 : 0);
    const bestScore = best ? best.changed.length * 2 + (best.parentChanged ? 1 : 0) : Infinity;
    if (score < bestScore) best = { changed, parentChanged, c };
  }
  const b = best!;
  if (b.changed.length > 0) return { text: `${stage}: ${b.changed.map(describeKey).join(', ')} changed`, changed: b.changed, closest: b.c };
  if (b.parentChanged) return { text: `${stage}: previous stage${parentStageName ? ` (${parentStageName})` : ''} changed`, changed: [], closest: b.c };
  return { text: `${stage}: stored stage missing`, changed: [], closest: b.c };
}

/**
 * "setup: stageDependencies files changed: src/app.js, src/new.js" — files diffed since the closest
 * stage's commit, named relative to the repository root (as `add`, `git status` and the uncommitted
 * changes error name them), whatever the mapping's `add` and `to` are.
 */
export async function explainWithFiles(stage: string, e: Explanation, inputs: Record<string, unknown>, git: GitSource[]): Promise<string> {
  if (!e.closest || !e.changed.includes('stageDependencies') || git.length === 0) return e.text;
  const mine = (inputs.stageDependencies ?? []) as Array<{ mapping: string; checksum: string }>;
  const theirs = (e.closest.inputs.stageDependencies ?? []) as Array<{ mapping: string; checksum: string }>;
  const theirCommits = (e.closest.state?.git ?? {}) as Record<string, string>;
  const files: string[] = [];
  for (const dep of mine) {
    if (theirs.find((t) => t.mapping === dep.mapping)?.checksum === dep.checksum) continue;
    const src = git.find((s) => s.id === dep.mapping);
    const from = theirCommits[dep.mapping];
    const masks = src?.spec.stageDependencies?.[stage as 'install' | 'beforeSetup' | 'setup'];
    if (!src || !from || !masks || !(await src.repo.commitExists(from))) continue;
    const changes = await changedPaths(src.repo, from, src.commit, src.spec);
    const set = new MaskSet(masks);
    const to = src.spec.to.replace(/\/+$/, '');
    const base = addPath(src.spec);
    for (const p of [...changes.changed.filter((c) => c.type !== 'dir').map((c) => c.path), ...changes.removed]) {
      // Image path -> path under `add` (what the masks match) -> path in the repository.
      const rel = p.startsWith(`${to}/`) ? p.slice(to.length + 1) : p === to ? '' : p.replace(/^\/+/, '');
      if (!set.matches(rel)) continue;
      files.push(base === '' ? rel : rel === '' ? base : `${base}/${rel}`);
    }
  }
  if (files.length === 0) return e.text;
  const shown = files.slice(0, 5).join(', ') + (files.length > 5 ? ` and ${files.length - 5} more` : '');
  const rest = e.changed.filter((k) => k !== 'stageDependencies');
  return `${stage}: stageDependencies files changed: ${shown}${rest.length ? `; ${rest.map(describeKey).join(', ')} changed` : ''}`;
}

function describeKey(key: string): string {
  switch (key) {
    case 'commands':
      return 'commands';
    case 'base':
      return 'base image';
    case 'gitCommits':
      return 'source commits';
    default:
      return key;
  }
}
