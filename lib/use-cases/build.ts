// The build use case: load the config, build the images (the conveyor's scheduler), push finals.
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import { acquireLease, openStore, type LayoutStore } from '../content/index.js';
import { buildOrder, buildProject, projectCommitTime, type ImageReport } from '../conveyor/index.js';
import { TsbuildError } from '../errors.js';
import { withGitRepoPool, type GitRepoPool } from '../git/index.js';
import { makeOwnedDir, removeOwnedDir } from '../internal/owned-dir.js';
import { ownerLocksDir, sweepLeftovers } from '../internal/sweep-leftovers.js';
import { transferEvents, type EventSink } from '../events.js';
import { parseReference, parseRepository, type LayerCompressionSpec } from '../oci/index.js';
import { pushImage } from '../registry/index.js';
import type { Sandbox, Snapshotter } from '../sandbox/index.js';
import { LocalStagesStorage, StagesStorage, finalRefName } from '../storage/index.js';
import { destinationFor, projectEnv, stagesRepositories, type ProjectOptions } from './project-options.js';

export interface Runtime {
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /**
   * Where the sandbox will put the process for `cwd` in `rootfs` (symlinks resolved inside the image;
   * a hostile WorkingDir refused, naming `image`). `tsbuild run` creates that directory first.
   */
  resolveWorkdir?(rootfs: string, cwd: string, image: string): string;
}

export interface BuildOptions extends ProjectOptions {
  /** Images built at the same time (default 2). */
  parallel?: number;
  /** --layer-compression: how the layers the build writes are compressed (default gzip). */
  layerCompression?: LayerCompressionSpec;
  /** SOURCE_DATE_EPOCH: what files written by stages are clamped to (default: the project's HEAD commit time). */
  sourceDateEpoch?: number;
  /** Creates the sandbox and snapshotter (runtime/ lives outside lib and is injected). */
  createRuntime(store: LayoutStore): Runtime;
}

export interface BuildResult {
  project: string;
  images: Array<ImageReport & { pushed?: { ref: string; digest: string } }>;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  if (options.push && !options.repo) {
    throw new TsbuildError('TSB_USAGE', '--push needs --repo REGISTRY/NAME', { hint: 'for example: tsbuild build --push --repo 127.0.0.1:5000/myproject' });
  }
  if (options.repo) parseRepository(options.repo);
  // The project's repository is opened once for the config, SOURCE_DATE_EPOCH and the mappings.
  return withGitRepoPool((repos) => buildWith(options, repos));
}

async function buildWith(options: BuildOptions, repos: GitRepoPool): Promise<BuildResult> {
  const config = await loadConfig({ ...options, repos });
  const store = await openStore(options.home);
  // What builds killed earlier left behind (temp dirs, active snapshots and their mounts, partial blobs).
  await sweepLeftovers(options.home);
  const lease = await acquireLease(join(options.home.locks, 'leases'));
  const env = projectEnv(config, store, options, repos);
  let buildTmp: string | undefined;
  try {
    const sourceDateEpoch = options.sourceDateEpoch ?? (await projectCommitTime(config.projectDir, repos));
    // Owned (owner record next to it): a killed build's temp dir goes with the next build or `stages gc`.
    buildTmp = await makeOwnedDir(options.home.tmp, 'build-', ownerLocksDir(options.home));
    const runtime = options.createRuntime(store);
    const onEvent: EventSink = env.onEvent;
    const stagesRepos = stagesRepositories(options, store, onEvent);
    const storage = new StagesStorage(
      new LocalStagesStorage(store, config.project),
      stagesRepos.lookup,
      stagesRepos.writable,
      { onRemote: (message) => onEvent({ type: 'warning', message }) },
      { stageLocks: join(options.home.locks, 'stages') },
    );
    const pushed = new Map<string, { ref: string; digest: string }>();
    const order = buildOrder(config, options.images);
    const built = await buildProject(env, order, {
      sandbox: runtime.sandbox,
      snapshotter: runtime.snapshotter,
      storage,
      dirs: { buildTmp, buildDirRoot: join(options.home.root, 'build_dir'), projectDir: config.projectDir },
      // Stage work dirs inside the build's own: they go with it if the build is killed.
      tmpDir: buildTmp,
      ...(options.parallel !== undefined ? { parallel: options.parallel } : {}),
      ...(options.layerCompression ? { layerCompression: options.layerCompression } : {}),
      ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
      localRefOf: (n) => finalRefName(config.project, n),
      async afterImage(image, result, signal) {
        if (!options.push || !options.repo || image.isArtifact || !image.final) return;
        const dest = destinationFor(options.repo, image.name);
        onEvent({ type: 'push.start', image: image.name, ref: dest });
        const destRef = parseReference(dest);
        // Blobs already in the stages repository of the same registry are mounted, never re-uploaded.
        const mountFrom = stagesRepos.primary && stagesRepos.primary.repo.registry === destRef.registry ? stagesRepos.primary.repo.repository : undefined;
        const done = await pushImage(options.registry, store, result.final.descriptor, destRef, {
          signal,
          onProgress: transferEvents('push', dest, onEvent),
          ...(mountFrom ? { mountFrom } : {}),
        });
        pushed.set(image.name, { ref: dest, digest: done.digest });
        onEvent({ type: 'push.done', image: image.name, ref: dest, digest: done.digest });
      },
    });
    const images = order.map((image) => {
      const report: BuildResult['images'][number] = built.get(image.name)!.report;
      const p = pushed.get(image.name);
      if (p) report.pushed = p;
      return report;
    });
    return { project: config.project, images };
  } finally {
    // Also when the commit time or the temp dir could not be had: a caller that lives on (not the
    // CLI) would otherwise keep a live lease, and with it every blob newer than it, from `stages gc`.
    await env.close();
    if (buildTmp !== undefined) await removeOwnedDir(buildTmp);
    await lease.release();
  }
}
