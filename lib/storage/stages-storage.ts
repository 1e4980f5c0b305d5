// Where the conveyor finds and keeps stages: the local layout first, then the registries given
// with --repo (read and written), --cache-repo (read first, written) and --secondary-repo (read only).
import type { BlobFetcher, StoredImage } from '../image/index.js';
import { LocalStagesStorage, type StageRecord, type StoredStage } from './local-stages.js';
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

  async get(signature: string): Promise<StoredImage | undefined> {
    return (await this.getStage(signature))?.image;
  }

  /** Where layers missing locally are fetched from when first opened (the repositories stages come from). */
  get blobSources(): readonly BlobFetcher[] {
    return this.remotes;
  }

  async put(record: StageRecord, image: StoredImage): Promise<void> {
    await this.local.put(record, image);
    for (const remote of this.writable) {
      const outcome = await remote.publish(record, image);
      if (outcome === 'theirs') {
        this.events.onRemote?.(`stage ${record.stage} ${record.signature.slice(0, 12)} was published to ${remote.name} by another builder first; using theirs`);
      }
    }
  }

  candidates(imageName: string, stage: string): Promise<StoredStage[]> {
    return this.local.candidates(imageName, stage);
  }
}
