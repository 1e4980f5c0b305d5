// gitArchive, gitCache and gitLatestPatch (werf-spec §6): the full copy of the sources once, then
// the accumulated change as one layer when it reaches 1 MiB, and the latest change on top.
import { TsbuildError } from '../../errors.js';
import { writeDerivedImage, type StoredImage } from '../../image/index.js';
import { writeLayerFromEntries } from '../../layer/index.js';
import { currentCommits } from '../git-sources.js';
import { applyChanges, archiveLayerEntries, changesId, ownerResolver, pendingPatchSize } from '../git-patch.js';
import type { GitCommits } from '../git-sources.js';
import type { BuildContext, PlanContext, Stage, StageState } from '../stage.js';

const GIT_CACHE_BUCKET = 1024 * 1024;

/**
 * The parent image is mounted while the archive is written: owner names are resolved in it, and so
 * is each mapping's `to` (like Docker's COPY destination: `to: /bin/x` on a usrmerged base lands in
 * /usr/bin, rather than a /bin directory hiding the base's /bin symlink).
 */
async function layerStage(ctx: BuildContext, parent: StoredImage, name: string): Promise<StoredImage> {
  const key = `${ctx.project}-${name}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const snap = await ctx.snapshotter.prepare(key, ctx.layers(parent), ctx.signal ? { signal: ctx.signal } : {});
  let layer;
  try {
    const entries = archiveLayerEntries(ctx.git, ownerResolver(snap.rootfs), snap.rootfs);
    layer = await writeLayerFromEntries(entries, ctx.store, {
      compression: ctx.layerCompression,
      ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
      signal: ctx.signal,
    });
  } finally {
    await ctx.snapshotter.remove(key);
  }
  return writeDerivedImage(ctx.store, parent, { layer: { descriptor: layer.descriptor, diffId: layer.diffId }, history: `tsbuild ${name}` });
}

const atCurrent = (ctx: PlanContext): StageState => ({ git: currentCommits(ctx.git) });

export const gitArchiveStage: Stage = {
  name: 'gitArchive',
  // The configuration of the mappings only, no commit: an archive is reused while its commit exists.
  inputs: (ctx) => (ctx.git.length === 0 ? undefined : { mappings: ctx.git.map((s) => s.id).sort() }),
  builtState: atCurrent,
  async reusable(ctx, stored) {
    for (const s of ctx.git) {
      const commit = stored.git?.[s.id];
      if (commit === undefined || !(await s.repo.commitExists(commit))) return false;
    }
    return true;
  },
  async build(parent, ctx) {
    return layerStage(ctx, parent, 'gitArchive');
  },
};

function afterPatchEnabled(ctx: PlanContext): boolean {
  return ctx.git.length > 0 && !ctx.image.disableGitAfterPatch && !ctx.image.isArtifact;
}

/**
 * gitCache and gitLatestPatch: the changes since the parent's commits applied on a snapshot of the
 * parent (so deletions and directories that became empty turn into whiteouts) — no command runs.
 */
async function patchStage(ctx: BuildContext, parent: StoredImage, name: string, from: GitCommits): Promise<StoredImage> {
  const key = `${ctx.project}-${ctx.image.name || 'image'}-${name}`;
  const snap = await ctx.snapshotter.prepare(key, ctx.layers(parent), ctx.signal ? { signal: ctx.signal } : {});
  try {
    await applyChanges(snap.rootfs, ctx.git, from, ctx.signal);
    const committed = await ctx.snapshotter.commit(key, {
      skip: [],
      compression: ctx.layerCompression,
      ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
      signal: ctx.signal,
    });
    return await writeDerivedImage(ctx.store, parent, { layer: { descriptor: committed.descriptor, diffId: committed.diffId }, history: `tsbuild ${name}` });
  } finally {
    await ctx.snapshotter.remove(key);
  }
}

export const gitCacheStage: Stage = {
  name: 'gitCache',
  async inputs(ctx, state) {
    if (!afterPatchEnabled(ctx) || !state.git) return undefined;
    const size = await pendingPatchSize(ctx.git, state.git);
    if (size < GIT_CACHE_BUCKET) return undefined;
    return { sizeMiB: Math.floor(size / GIT_CACHE_BUCKET), from: state.git };
  },
  builtState: atCurrent,
  async build(parent, ctx, state) {
    if (!state.git) throw new TsbuildError('TSB_INTERNAL', 'gitCache built without the commits of its parent');
    return patchStage(ctx, parent, 'gitCache', state.git);
  },
};

export const gitLatestPatchStage: Stage = {
  name: 'gitLatestPatch',
  async inputs(ctx, state) {
    if (!afterPatchEnabled(ctx) || !state.git) return undefined;
    const { id, empty } = await changesId(ctx.git, state.git);
    if (empty) return undefined;
    return { patch: id, from: state.git };
  },
  builtState: atCurrent,
  async build(parent, ctx, state) {
    if (!state.git) throw new TsbuildError('TSB_INTERNAL', 'gitLatestPatch built without the commits of its parent');
    return patchStage(ctx, parent, 'gitLatestPatch', state.git);
  },
};
