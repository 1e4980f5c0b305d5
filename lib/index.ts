// The public facade: build(), plan() and the pieces the CLI wires together.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { loadConfig, type LoadOptions, type WerfConfig } from './config/index.js';
import { LayoutStore, acquireLease } from './content/index.js';
import { join } from 'node:path';
import {
  baseImageResolver,
  buildImage,
  buildOrder,
  planImage,
  type BuildContext,
  type ImageReport,
  type PullPolicy,
  type RegistryMirror,
  resolveMounts,
  resolveSecrets,
  imageDependencies,
  GitSources,
  explainRebuild,
  explainWithFiles,
  projectCommitTime,
} from './conveyor/index.js';
import type { ImageSpec } from './config/index.js';
import { TsbuildError } from './errors.js';
import { transferEvents, type EventSink } from './events.js';
import type { StoredImage } from './image/index.js';
import { parseRepository, parseReference, formatReference, type LayerCompressionSpec, type Platform } from './oci/index.js';
import { pushImage, type RegistryClient } from './registry/index.js';
import type { Sandbox, Snapshotter } from './sandbox/index.js';
import { LocalStagesStorage, RegistryStages, StagesStorage, finalRefName } from './storage/index.js';
import type { HomePaths } from './home.js';

export interface Runtime {
  sandbox: Sandbox;
  snapshotter: Snapshotter;
}

export interface BuildOptions extends LoadOptions {
  home: HomePaths;
  images?: string[];
  /** Build the git work tree as if committed (uncommitted changes are an error otherwise). */
  dev?: boolean;
  /** Images built at the same time (default 2). */
  parallel?: number;
  push?: boolean;
  /** Stages are kept in (and looked up from) this repository as REPO:<signature>; final images are pushed to REPO/<image>:latest with --push. */
  repo?: string;
  /** Looked up first and written after the build (a faster or closer cache). */
  cacheRepo?: string;
  /** Read-only stages repository (e.g. the main branch's cache for a feature branch). */
  secondaryRepo?: string;
  pull?: PullPolicy;
  /** --registry-mirror: base images of a registry are fetched from a mirror (names and signatures unchanged). */
  registryMirrors?: RegistryMirror[];
  platform?: Platform;
  /** --stapel-image: the ansible toolchain (default: tsbuild/stapel:<format> of the local store). */
  stapelImage?: string;
  /** --layer-compression: how the layers the build writes are compressed (default gzip). */
  layerCompression?: LayerCompressionSpec;
  /** SOURCE_DATE_EPOCH: what files written by stages are clamped to (default: the project's HEAD commit time). */
  sourceDateEpoch?: number;
  registry: RegistryClient;
  /** Creates the sandbox and snapshotter (runtime/ lives outside lib and is injected). */
  createRuntime(store: LayoutStore): Runtime;
  onEvent?: EventSink;
  signal?: AbortSignal;
}

export interface BuildResult {
  project: string;
  images: Array<ImageReport & { pushed?: { ref: string; digest: string } }>;
}

export function destinationFor(repo: string, imageName: string): string {
  const r = parseRepository(repo);
  const base = `${r.registry}/${r.repository}`;
  return imageName ? `${base}/${imageName}:latest` : `${base}:latest`;
}

export async function openStore(home: HomePaths): Promise<LayoutStore> {
  await mkdir(home.tmp, { recursive: true });
  const store = new LayoutStore(home.store);
  await store.init();
  return store;
}

export async function build(options: BuildOptions): Promise<BuildResult> {
  if (options.push && !options.repo) {
    throw new TsbuildError('TSB_USAGE', '--push needs --repo REGISTRY/NAME', { hint: 'for example: tsbuild build --push --repo 127.0.0.1:5000/myproject' });
  }
  if (options.repo) parseRepository(options.repo);
  const config = await loadConfig(options);
  const store = await openStore(options.home);
  const lease = await acquireLease(join(options.home.locks, 'leases'));
  try {
    return await buildWithStore(config, store, options);
  } finally {
    await lease.release();
  }
}

async function buildWithStore(config: WerfConfig, store: LayoutStore, options: BuildOptions): Promise<BuildResult> {
  const runtime = options.createRuntime(store);
  const onEvent: EventSink = options.onEvent ?? (() => undefined);
  const local = new LocalStagesStorage(store, config.project);
  const registryStages = (repo: string | undefined, readOnly: boolean): RegistryStages | undefined =>
    repo ? new RegistryStages(options.registry, parseRepository(repo), store, { readOnly, onEvent, ...(options.signal ? { signal: options.signal } : {}) }) : undefined;
  const primary = registryStages(options.repo, false);
  const cache = registryStages(options.cacheRepo, false);
  const secondary = registryStages(options.secondaryRepo, true);
  const storage = new StagesStorage(
    local,
    [cache, primary, secondary].filter((r): r is RegistryStages => r !== undefined),
    [primary, cache].filter((r): r is RegistryStages => r !== undefined),
    { onRemote: (message) => onEvent({ type: 'warning', message }) },
  );
  const bases = baseImageResolver({
    store,
    client: options.registry,
    pull: options.pull ?? 'missing',
    onEvent,
    ...(options.registryMirrors?.length ? { mirrors: options.registryMirrors } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const finals = new Map<string, { image: StoredImage; signature: string; stages: Map<string, string> }>();
  const result: BuildResult = { project: config.project, images: [] };
  const finalRefOf = (n: string): string => (options.push && options.repo ? destinationFor(options.repo, n) : finalRefName(config.project, n));
  const stageOf = async (n: string, stage?: string): Promise<{ image: StoredImage; signature: string }> => {
    const f = mustGet(finals, n);
    if (stage === undefined) {
      await storage.materialize(f.image);
      return { image: f.image, signature: f.signature };
    }
    const sig = f.stages.get(stage);
    if (sig === undefined) throw new TsbuildError('TSB_CONFIG_SCHEMA', `image "${n}" has no ${stage} stage to import from`, { hint: 'import from a stage that has instructions, or omit `stage`' });
    const image = await storage.get(sig);
    if (image) await storage.materialize(image);
    if (!image) throw new TsbuildError('TSB_STORE_NOT_FOUND', `stage ${stage} of image "${n}" (${sig.slice(0, 12)}) is not in the store`, { hint: 'rebuild without --dry-run; the stage was removed by gc' });
    return { image, signature: sig };
  };
  const sourceDateEpoch = options.sourceDateEpoch ?? (await projectCommitTime(config.projectDir));
  const buildTmp = await mkdtemp(join(options.home.tmp, 'build-'));
  const gitSources = new GitSources({ projectDir: config.projectDir, cacheDir: join(options.home.root, 'git-cache'), dev: !!options.dev, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const order = buildOrder(config, options.images);
    const byName = new Map(config.images.map((i) => [i.name, i]));
    const reports = new Map<string, BuildResult['images'][number]>();
    // Independent images build concurrently (--parallel); an image waits for the images it needs.
    const failure = new AbortController();
    const signal = options.signal ? AbortSignal.any([options.signal, failure.signal]) : failure.signal;
    const slots = semaphore(Math.max(1, options.parallel ?? 2));
    const running = new Map<string, Promise<void>>();
    const buildOne = async (image: ImageSpec): Promise<void> => {
      const dirs = { buildTmp, buildDirRoot: join(options.home.root, 'build_dir'), projectDir: config.projectDir };
      const mounts = [...(await resolveMounts(config.project, image, dirs)), ...(await resolveSecrets(image, dirs))];
      const ctx: BuildContext = {
        project: config.project,
        image,
        git: await gitSources.forImage(image),
        internalImages: new Set(config.images.map((i) => i.name)),
        store,
        sandbox: runtime.sandbox,
        snapshotter: runtime.snapshotter,
        bases,
        finalSignatureOf: (n) => mustGet(finals, n).signature,
        finalImageOf: (n) => mustGet(finals, n).image,
        stageOf,
        finalRefOf,
        cacheDir: join(options.home.root, 'cache'),
        tmpDir: options.home.tmp,
        mounts,
        onEvent,
        signal,
        ...(options.stapelImage ? { stapelImage: options.stapelImage } : {}),
        ...(options.layerCompression ? { layerCompression: options.layerCompression } : {}),
        ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
      };
      const built = await buildImage(ctx, storage, finalRefName(config.project, image.name));
      finals.set(image.name, { image: built.final, signature: built.finalSignature, stages: new Map(built.report.stages.map((st) => [st.name, st.signature])) });
      const entry: BuildResult['images'][number] = built.report;
      if (options.push && options.repo && !image.isArtifact && image.final) {
        const dest = destinationFor(options.repo, image.name);
        onEvent({ type: 'push.start', image: image.name, ref: dest });
        const destRef = parseReference(dest);
        // Blobs already in the stages repository of the same registry are mounted, never re-uploaded.
        const mountFrom = primary && primary.repo.registry === destRef.registry ? primary.repo.repository : undefined;
        const pushed = await pushImage(options.registry, store, built.final.descriptor, destRef, { signal, onProgress: transferEvents('push', dest, onEvent), ...(mountFrom ? { mountFrom } : {}) });
        entry.pushed = { ref: dest, digest: pushed.digest };
        onEvent({ type: 'push.done', image: image.name, ref: dest, digest: pushed.digest });
      }
      reports.set(image.name, entry);
    };
    for (const image of order) {
      const deps = imageDependencies(image, byName).map((d) => running.get(d)!);
      running.set(
        image.name,
        (async () => {
          await Promise.all(deps);
          await slots(() => buildOne(image));
        })().catch((err: unknown) => {
          failure.abort();
          throw err;
        }),
      );
    }
    const settled = await Promise.allSettled(running.values());
    const firstError = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected' && !isAbortFallout(r.reason, options.signal));
    if (firstError) throw firstError.reason;
    const aborted = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (aborted) throw aborted.reason;
    for (const image of order) result.images.push(reports.get(image.name)!);
  } finally {
    await gitSources.close();
    await rm(buildTmp, { recursive: true, force: true });
  }
  return result;
}

/** At most `n` tasks at a time. */
function semaphore(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}

/** Errors of images stopped because another image failed (not the cause worth reporting). */
function isAbortFallout(err: unknown, userSignal: AbortSignal | undefined): boolean {
  if (userSignal?.aborted) return false;
  return (err instanceof TsbuildError && err.code === 'TSB_ABORTED') || (err as Error)?.name === 'AbortError';
}

function mustGet<T>(m: Map<string, T>, name: string): T {
  const v = m.get(name);
  if (v === undefined) throw new TsbuildError('TSB_INTERNAL', `image "${name}" was not built before the images that depend on it`);
  return v;
}

export interface PlanResult {
  project: string;
  images: Array<{ name: string; stages: Array<{ name: string; signature: string; status: 'cached' | 'to-build'; reason?: string }> }>;
}

/** Every stage with its signature and whether it is stored, computed without running anything. */
export async function plan(options: Omit<BuildOptions, 'createRuntime' | 'registry'>): Promise<PlanResult> {
  const config: WerfConfig = await loadConfig(options);
  const store = await openStore(options.home);
  const storage = new LocalStagesStorage(store, config.project);
  const sigs = new Map<string, string>();
  const out: PlanResult = { project: config.project, images: [] };
  const gitSources = new GitSources({ projectDir: config.projectDir, cacheDir: join(options.home.root, 'git-cache'), dev: !!options.dev });
  try {
  for (const image of buildOrder(config, options.images)) {
    const ctx = {
      project: config.project,
      image,
      git: await gitSources.forImage(image),
      internalImages: new Set(config.images.map((i) => i.name)),
      onEvent: () => undefined,
      store,
      finalSignatureOf: (n: string) => sigs.get(n)!,
      finalRefOf: (n: string) => finalRefName(config.project, n),
      cacheDir: join(options.home.root, 'cache'),
      ...(options.stapelImage ? { stapelImage: options.stapelImage } : {}),
      stageOf: () => {
        throw new TsbuildError('TSB_USAGE', `image "${image.name}" imports files: its signature needs the source image built first`, {
          hint: 'run `tsbuild build` for the source images, then plan again',
        });
      },
    } as unknown as BuildContext;
    const stages = await planImage(ctx, storage);
    const rows: PlanResult['images'][number]['stages'] = [];
    let cachedUpTo = -1;
    for (let i = stages.length - 1; i >= 0; i--) {
      if (stages[i]!.stored) {
        cachedUpTo = i;
        break;
      }
    }
    for (const [i, s] of stages.entries()) {
      if (i <= cachedUpTo) {
        rows.push({ name: s.name, signature: s.signature, status: 'cached' });
        continue;
      }
      const explanation = explainRebuild(s.name, s.inputs, s.parent, await storage.candidates(image.name, s.name), stages[i - 1]?.name);
      const reason = await explainWithFiles(s.name, explanation, s.inputs, ctx.git).catch(() => explanation.text);
      rows.push({ name: s.name, signature: s.signature, status: 'to-build', reason });
    }
    sigs.set(image.name, stages[stages.length - 1]!.signature);
    out.images.push({ name: image.name, stages: rows });
  }
  } finally {
    await gitSources.close();
  }
  return out;
}

export { loadConfig, formatReference };
export { homePaths, type HomePaths } from './home.js';
