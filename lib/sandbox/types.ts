// Contracts between the conveyor and the runtime: a Sandbox runs a process in a root filesystem,
// a Snapshotter prepares writable root filesystems on top of layers and turns changes into layers.
import type { Readable } from 'node:stream';
import type { Digest } from '../digest.js';
import type { Descriptor, LayerCompressionSpec } from '../oci/index.js';

export interface BindMount {
  source: string;
  target: string;
  readonly?: boolean;
}

export interface RunSpec {
  rootfs: string;
  argv: string[];
  /** KEY=VALUE entries: the image's Env and nothing of the builder's environment. */
  env: string[];
  /** The working directory inside the image; resolved (and refused if it leads outside) by the sandbox. */
  cwd: string;
  /** Names the image in errors about it, e.g. `image "app"`. */
  image?: string;
  /** Numeric uid/gid inside the sandbox (0 for build stages). */
  uid?: number;
  gid?: number;
  hostname?: string;
  network: 'host' | 'none';
  mounts: BindMount[];
}

export interface RunOptions {
  signal?: AbortSignal | undefined;
  /** Receives the process's combined stdout/stderr as it comes; default is to discard. */
  onOutput?: (chunk: Buffer, stream: 'stdout' | 'stderr') => void;
  /** Attach the caller's stdio directly (tsbuild run). */
  inheritStdio?: boolean;
}

export interface RunResult {
  exitCode: number;
  signal?: NodeJS.Signals;
}

export interface Sandbox {
  readonly name: string;
  /** Resolves with the exit status; rejects only if the process could not be started. */
  run(spec: RunSpec, options?: RunOptions): Promise<RunResult>;
  /**
   * Start now what the first run() needs and does not depend on the spec (root's step namespace),
   * so that it is made while the snapshot is prepared; a failure is reported by run().
   */
  warm?(): void;
}

/** A layer the snapshotter can unpack: identified by diffId, opened lazily. */
export interface LayerSource {
  diffId: Digest;
  descriptor: Descriptor;
  open(): Readable;
}

export interface PreparedSnapshot {
  key: string;
  /** The writable root filesystem to run in. */
  rootfs: string;
  /** In-image paths created only as mount points (never part of a layer). */
  placeholders: Set<string>;
}

export interface CommittedLayer {
  descriptor: Descriptor;
  diffId: Digest;
  empty: boolean;
}

export interface CommitOptions {
  skip: string[];
  pruneIfEmpty?: string[];
  signal?: AbortSignal | undefined;
  sourceDateEpoch?: number;
  /** How the layer is compressed (default gzip); never part of a stage's signature. */
  compression?: LayerCompressionSpec | undefined;
}

export interface Snapshotter {
  readonly name: string;
  prepare(key: string, parents: LayerSource[], options?: { signal?: AbortSignal | undefined }): Promise<PreparedSnapshot>;
  /**
   * Turn what changed in the snapshot into a layer stored in the content store. `skip` paths are left
   * out entirely; `pruneIfEmpty` directories (mount-point parents the image did not have) are dropped
   * when nothing was written into them.
   */
  commit(key: string, options: CommitOptions): Promise<CommittedLayer>;
  /** Unmount and delete; idempotent. */
  remove(key: string): Promise<void>;
}
