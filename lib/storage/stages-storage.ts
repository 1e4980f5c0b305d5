// Where the conveyor finds and keeps stages: the local layout first, then the registries given
// with --repo (read and written), --cache-repo (read first, written) and --secondary-repo (read only).
import { join } from 'node:path';
import type { BlobFetcher, StoredImage } from '../image/index.js';
import { kernelLock, type KernelLock } from '../internal/kernel-lock.js';
import type { LocalStagesStorage, StageChainEntry, StageRecord, StoredStage } from './local-stages.js';
import type { RegistryStages } from './registry-stages.js';

export interface StagesEvents {
  onRemote?(message: string): void;
}

export class StagesStorage {
  constructor(
    readonly local: LocalStagesStorage,
    /** Looked up in this order after the local store. */
    readonly remotes: RegistryStages[] = [],
    /** Written after a stage is built. */
    readonly writable: RegistryStages[] = [],
    readonly events: StagesEvents = {},
    readonly options: { /** Directory of per-signature build locks of this home. */ stageLocks?: string } = {},
  ) {}

  get project(): string {
    return this.local.project;
  }

  async getStage(signature: string): Promise<{ image: StoredImage; record: StoredStage } | undefined> {
    const here = await this.local.getStage(signature);
    if (here) return here;
    for (const remote of this.remotes) {
      const got = await remote.fetch(signature);
      if (!got) continue;
      await this.local.put(got.record, got.image);
      return this.local.getStage(signature);
    }
    return undefined;
  }

  /**
   * The last stage an image resolved to under a chain key, from the first repository that has the
   * tag; copied into the local store like getStage. One request per repository asked.
   */
  async getChain(key: string): Promise<{ image: StoredImage; record: StoredStage; chain: StageChainEntry[] } | undefined> {
    for (const remote of this.remotes) {
      const got = await remote.fetchChain(key, true);
      if (!got || !('image' in got)) continue;
      const chain = got.record.chain ?? [];
      await this.local.put(got.record, got.image);
      const here = await this.local.getStage(got.record.signature);
      return here && { ...here, chain };
    }
    return undefined;
  }

  /** Point the chain tag of `key` at the published stage `signature` in every writable repository. */
  async tagChain(key: string, signature: string): Promise<void> {
    for (const remote of this.writable) await remote.tagChain(key, signature);
  }

  async get(signature: string): Promise<StoredImage | undefined> {
    return (await this.getStage(signature))?.image;
  }

  /** Where layers missing locally are fetched from when first opened (the repositories stages come from). */
  get blobSources(): readonly BlobFetcher[] {
    return this.remotes;
  }

  /**
   * Keep a stage built here, locally and in the writable repositories, and return the stage to
   * continue from: ours as published, or (when another builder published this signature first)
   * theirs (manifest and config fetched now, layers when first opened). One signature, one content.
   */
  async put(record: StageRecord, image: StoredImage): Promise<StoredImage> {
    await this.local.put(record, image);
    let kept: { image: StoredImage; record: StageRecord } | undefined;
    for (const remote of this.writable) {
      const published = await remote.publish(record, image);
      kept = { image: published.image, record: published.record };
      if (published.outcome === 'theirs') {
        this.events.onRemote?.(
          `stage ${record.stage} ${record.signature.slice(0, 12)} was published to ${remote.name} by another builder first; using theirs (ours is dropped)`,
        );
        // Their layers may not be here: other repositories get the stage from a later build.
        break;
      }
    }
    if (!kept) return image;
    await this.local.put(kept.record, kept.image);
    return kept.image;
  }

  /**
   * Hold the lock on building this stage in this home: a second build of the same stage waits here
   * (calling `onWait`) and then finds the first one's result. The kernel drops the lock if its holder dies.
   */
  async lockStage(signature: string, options: { signal?: AbortSignal | undefined; onWait?: () => void } = {}): Promise<KernelLock | undefined> {
    if (!this.options.stageLocks) return undefined;
    const name = `${this.project.replace(/[^A-Za-z0-9_.-]/g, '_')}-${signature}.lock`;
    return kernelLock(join(this.options.stageLocks, name), options);
  }

  /** A stage stored in this home (not asked of registries): what another local build just made. */
  async getLocalStage(signature: string): Promise<{ image: StoredImage; record: StoredStage } | undefined> {
    return this.local.getStage(signature);
  }

  candidates(imageName: string, stage: string): Promise<StoredStage[]> {
    return this.local.candidates(imageName, stage);
  }
}
