// What every stage of the conveyor provides: a pure input record and a build step.
import type { LayoutStore } from '../content/index.js';
import type { EventSink } from '../events.js';
import type { StoredImage } from '../image/index.js';
import type { ImageSpec } from '../config/index.js';
import type { Sandbox, Snapshotter } from '../sandbox/index.js';
import type { StageMount } from './mounts.js';
import type { BaseImages } from './base-image.js';

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
  | 'dockerInstructions';

export interface BuildContext {
  project: string;
  image: ImageSpec;
  store: LayoutStore;
  sandbox: Sandbox;
  snapshotter: Snapshotter;
  /** Base images for external references (pulled unless present, per --pull). */
  bases: BaseImages;
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
  /** The image's `mount:` directives, resolved to host directories. */
  mounts: StageMount[];
  onEvent: EventSink;
  signal?: AbortSignal;
}

export interface Stage {
  readonly name: StageName;
  /** The typed input record, or undefined when the stage is empty (skipped; the chain continues). */
  inputs(ctx: BuildContext): Promise<Record<string, unknown> | undefined> | Record<string, unknown> | undefined;
  /** Build the stage image on top of `parent` (undefined only for `from`). */
  build(parent: StoredImage | undefined, ctx: BuildContext): Promise<StoredImage>;
}
