// What every stage of the conveyor provides: a pure input record (planning) and a build step.
// Planning sees a PlanContext only; the sandbox, snapshotter, mounts and temp dirs exist only in
// the BuildContext, so the compiler rules out a plan that runs anything.
import type { ImageStore } from '../content/index.js';
import type { EventSink } from '../events.js';
import type { StoredImage } from '../image/index.js';
import type { ImageSpec, ImportSpec } from '../config/index.js';
import type { LayerCompressionSpec } from '../oci/index.js';
import type { LayerSource, Sandbox, Snapshotter } from '../sandbox/index.js';
import type { StageMount } from './mounts.js';
import type { BaseImages } from './base-image.js';
import type { GitCommits, GitSource } from './git-sources.js';

export type StageName =
  | 'from'
  | 'beforeInstall'
  | 'importsBeforeInstall'
  | 'gitArchive'
  | 'install'
  | 'importsAfterInstall'
  | 'beforeSetup'
  | 'importsBeforeSetup'
  | 'setup'
  | 'importsAfterSetup'
  | 'gitCache'
  | 'gitLatestPatch'
  | 'dockerInstructions'
  | 'imageSpec';

/** Everything a signature, a reuse decision or an explanation needs; nothing that runs or pulls layers. */
export interface PlanContext {
  project: string;
  image: ImageSpec;
  store: ImageStore;
  /** Base images: planning asks only for digests (manifests), building pulls. */
  bases: BaseImages;
  /** Names of every image of this config (`from: <name>` may name one of them). */
  internalImages: ReadonlySet<string>;
  /**
   * Signature of the last stage (or of `stage`) of another image of this config, planned before
   * this one. Throws UnknownUntilBuilt when that image's signatures cannot be known yet.
   */
  signatureOf(imageName: string, stage?: string): string;
  /** The content checksum of the files `imp` takes from its source stage (see import-checksums.ts). */
  importChecksum(imp: ImportSpec): Promise<string>;
  /** Final reference names of other images (for `dependencies` env injection). */
  finalRefOf(imageName: string): string;
  /** Directory for small caches that survive builds (import checksums). */
  cacheDir: string;
  /** The image's git mappings resolved to repositories and commits (empty without `git:`). */
  git: GitSource[];
  /** --stapel-image: the ansible toolchain to use instead of the local tsbuild/stapel image. */
  stapelImage?: string;
  /** Builds only: a missing default stapel toolchain is made in this temp dir (a plan reports it missing). */
  stapelWorkDir?: string;
  onEvent: EventSink;
  signal?: AbortSignal | undefined;
}

/** What building adds: somewhere to run, images of other stages, and layers that fetch on open. */
export interface BuildContext extends PlanContext {
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /** The final image of another image of this config (built before this one). */
  finalImageOf(imageName: string): StoredImage;
  /** A given stage (or the last stage) of another image of this config, built before this one. */
  stageOf(imageName: string, stage?: string): Promise<{ image: StoredImage; signature: string }>;
  /** The layers of a stored image; each is fetched (from where the stage came from) when first opened. */
  layers(image: StoredImage): LayerSource[];
  tmpDir: string;
  /** The image's `mount:` directives, resolved to host directories. */
  mounts: StageMount[];
  /** --layer-compression: how the layers this build writes are compressed (default gzip; not in signatures). */
  layerCompression?: LayerCompressionSpec | undefined;
  /** Clamp the mtimes of what stages write to this (SOURCE_DATE_EPOCH, else the project's commit time). */
  sourceDateEpoch?: number;
}

/**
 * What a stage image carries forward besides its files: the git commits its sources are at
 * (werf's "next stage dependencies": the next stage's signature depends on them).
 */
export interface StageState {
  git?: GitCommits;
}

export type StageInputs = Record<string, unknown>;

interface StageCommon {
  readonly name: StageName;
  /**
   * The typed input record, or undefined when the stage is empty (skipped; the chain continues).
   * `state` is what the parent stage carries (the stored parent's, or what building it produces).
   */
  inputs(ctx: PlanContext, state: StageState): Promise<StageInputs | undefined> | StageInputs | undefined;
  /** The state of this stage once built (default: the parent's). */
  builtState?(ctx: PlanContext, state: StageState): StageState;
  /** Whether a stored stage can still be used (gitArchive: its recorded commits must still exist). */
  reusable?(ctx: PlanContext, state: StageState): Promise<boolean>;
}

/** The first stage: produces the base image; nothing below it. */
export interface BaseStage extends StageCommon {
  readonly name: 'from';
  build(ctx: BuildContext): Promise<StoredImage>;
}

/** Every later stage: builds on top of its parent stage image; `state` is the parent's. */
export interface Stage extends StageCommon {
  build(parent: StoredImage, ctx: BuildContext, state: StageState): Promise<StoredImage>;
}

export type AnyStage = BaseStage | Stage;

/** A signature that depends on an image not built yet (plan shows "unknown until <image> is built"). */
export class UnknownUntilBuilt extends Error {
  constructor(
    readonly imageName: string,
    readonly why = `unknown until image "${imageName || '~'}" is built`,
  ) {
    super(why);
    this.name = 'UnknownUntilBuilt';
  }
}
