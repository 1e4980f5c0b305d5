// The stages use cases (`tsbuild stages list|gc|purge`): the stages kept in the local store, or in a
// stages repository (these maintenance commands list tags; builds never do).
import { join } from 'node:path';
import { gcStore, openStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import type { HomePaths } from '../home.js';
import { sweepLeftovers } from '../internal/sweep-leftovers.js';
import type { Reference } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { ANNOTATION, LocalStagesStorage, listRegistryStages, planRegistryGc, removeRegistryStages, type StoredStage } from '../storage/index.js';

/** A stages repository and the client to reach it. */
export interface StagesRepository {
  registry: RegistryClient;
  repo: Reference;
  signal?: AbortSignal | undefined;
}

type RegistryStage = Awaited<ReturnType<typeof listRegistryStages>>[number];

/** Stored stages of `project` (every project without it), oldest first. */
export async function listStages(home: HomePaths, project?: string): Promise<StoredStage[]> {
  const store = await openStore(home);
  const all = await new LocalStagesStorage(store, project ?? '').list(!project);
  return all.sort((a, b) => a.created.localeCompare(b.created));
}

export async function listRepositoryStages(r: StagesRepository, project?: string): Promise<RegistryStage[]> {
  const all = await listRegistryStages(r.registry, r.repo, r.signal ? { signal: r.signal } : {});
  return all.filter((s) => !project || s.record.project === project);
}

export interface GcResult {
  removed: number;
  freedBytes: number;
  kept: number;
  /** Leftovers of killed builds (temp dirs, snapshots and their mounts, partial blobs). */
  leftovers: number;
}

/** Leftovers of killed builds first (their temp dirs, snapshots and mounts), then unreferenced blobs. */
export async function gcStages(home: HomePaths, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const store = await openStore(home);
  const leftovers = await sweepLeftovers(home, { dryRun: !!options.dryRun });
  const r = await gcStore(store, join(home.locks, 'leases'), { dryRun: !!options.dryRun });
  return { removed: r.removed, freedBytes: r.freedBytes, kept: r.kept, leftovers: leftovers.length };
}

/** Stages no final image built in the last `keepDays` days needs, removed unless `dryRun`. */
export async function gcRepositoryStages(
  r: StagesRepository,
  options: { keepDays: number; now: number; dryRun?: boolean },
): Promise<{ remove: RegistryStage[]; keep: RegistryStage[]; removed: number }> {
  if (!Number.isFinite(options.keepDays) || options.keepDays < 0)
    throw new TsbuildError('TSB_USAGE', `--keep-days must be a number of days >= 0 (got "${options.keepDays}")`);
  const signal = r.signal ? { signal: r.signal } : {};
  const plan = planRegistryGc(await listRegistryStages(r.registry, r.repo, signal), options.keepDays, options.now);
  const removed = options.dryRun ? 0 : await removeRegistryStages(r.registry, r.repo, plan.remove, signal);
  return { remove: plan.remove, keep: plan.keep, removed };
}

/** Forget stored stages and final images (of `project`, or all), then collect garbage. */
export async function purgeStages(home: HomePaths, project?: string): Promise<{ refs: number; blobs: number; freedBytes: number }> {
  const store = await openStore(home);
  const refs = await store.removeRefs((_name, d) => {
    const a = d.annotations ?? {};
    const kind = a[ANNOTATION.kind];
    if (kind !== 'stage' && kind !== 'final') return false;
    return !project || a[ANNOTATION.project] === project;
  });
  const r = await gcStore(store, join(home.locks, 'leases'));
  return { refs, blobs: r.removed, freedBytes: r.freedBytes };
}

export async function purgeRepositoryStages(r: StagesRepository, project?: string): Promise<number> {
  const doomed = await listRepositoryStages(r, project);
  return removeRegistryStages(r.registry, r.repo, doomed, r.signal ? { signal: r.signal } : {});
}
