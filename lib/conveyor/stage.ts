// What every stage of the conveyor provides: a pure input record and a build step.
import type { LayoutStore } from '../content/index.js';
import type { EventSink } from '../events.js';
import type { StoredImage } from '../image/index.js';
import type { ImageSpec } from '../config/index.js';
import type { LayerCompressionSpec } from '../oci/index.js';
import type { Sandbox, Snapshotter } from '../sandbox/index.js';
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

export interface BuildContext {
  project: string;
  image: ImageSpec;
  store: LayoutStore;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /** Base images for external references (pulled unless present, per --pull). */
  bases: BaseImages;
  /** Names of every image of this config (`from: <name>` may name one of them). */
  internalImages: ReadonlySet<string>;
  /** Signature of the last stage of another image of this config (planned before this one). */
  finalSignatureOf(imageName: string): string;
  /** The final image of another image of this config (built before this one). */
  finalImageOf(imageName: string): StoredImage;
  /** A given stage (or the last stage) of another image of this config, built before this one. */
  stageOf(imageName: string, stage?: string): Promise<{ image: StoredImage; signature: string }>;
  /** Final reference names of other images (for `dependencies` env injection). */
  finalRefOf(imageName: string): string;
  /** Directory for small caches that survive builds (import checksums). */
  cacheDir: string;
  tmpDir: string;
  /** The image's git mappings resolved to repositories and commits (empty without `git:`). */
  git: GitSource[];
  /** The image's `mount:` directives, resolved to host directories. */
  mounts: StageMount[];
  /** --stapel-image: the ansible toolchain to use instead of the local tsbuild/stapel image. */
  stapelImage?: string;
  /** --layer-compression: how the layers this build writes are compressed (default gzip; not in signatures). */
  layerCompression?: LayerCompressionSpec | undefined;
  /** Clamp the mtimes of what stages write to this (SOURCE_DATE_EPOCH, else the project's commit time). */
  sourceDateEpoch?: number;
  onEvent: EventSink;
  signal?: AbortSignal;
}

/**
 * What a stage image carries forward besides its files: the git commits its sources are at
 * (werf's "next stage dependencies": the next stage's signature depends on them).
 */
export interface StageState {
  git?: GitCommits;
}

export interface Stage {
  readonly name: StageName;
  /**
   * The typed input record, or undefined when the stage is empty (skipped; the chain continues).
   * `state` is what the parent stage carries (the stored parent's, or what building it produces).
   */
  inputs(ctx: BuildContext, state: StageState): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
  /** The state of this stage once built (default: the parent's). */
  builtState?(ctx: BuildContext, state: StageState): StageState;
  /** Whether a stored stage can still be used (gitArchive: its recorded commits must still exist). */
  reusable?(ctx: BuildContext, state: StageState): Promise<boolean>;
  /** Build the stage image on top of `parent` (undefined only for `from`); `state` is the parent's. */
  build(parent: StoredImage | undefined, ctx: BuildContext, state: StageState): Promise<StoredImage>;
}
