// Finding stored stages by signature for planning and building alike: the local store, then the
// stages repositories in the order --cache-repo, --repo, --secondary-repo. Building copies what it
// finds into the local store (manifest and config; layers come when opened); planning only reads
// the manifest, so `plan` stores nothing and fetches no blob.
import type { StoredImage } from '../image/index.js';
import type { LocalStagesStorage, RegistryStages, StageChainEntry, StageRecord, StagesStorage, StoredStage } from '../storage/index.js';

export interface FoundStage {
  record: StageRecord;
  /** The stage image's manifest digest. */
  digest: string;
  /** The stage image, present when the lookup copied it locally (building). */
  image?: StoredImage;
  /** Reads the stage image from the local store (a local stage is found without reading it). */
  open?(): Promise<StoredImage>;
}

export interface StageLookup {
  /** The local store only (no network). */
  local(signature: string): Promise<FoundStage | undefined>;
  /** The stages repositories, in order; undefined when none has it. */
  remote(signature: string): Promise<FoundStage | undefined>;
  readonly hasRemotes: boolean;
  /** Stored stages of the same image and stage, newest first: what a rebuild is explained against. */
  candidates(imageName: string, stage: string): Promise<StoredStage[]>;
  /** The last stage an image resolved to under a chain key (stage-chain.ts), with its chain. */
  chain?(key: string): Promise<{ final: FoundStage; chain: StageChainEntry[] } | undefined>;
}

/** Local first, then the repositories. */
export async function findStage(lookup: StageLookup, signature: string): Promise<FoundStage | undefined> {
  return (await lookup.local(signature)) ?? (lookup.hasRemotes ? lookup.remote(signature) : undefined);
}

async function localStage(local: LocalStagesStorage, signature: string): Promise<FoundStage | undefined> {
  const got = await local.getRecord(signature);
  return got && { record: got.record, digest: got.descriptor.digest, open: got.open };
}

/** Building: stages found in a repository are copied into the local store (not their layers). */
export function buildLookup(storage: StagesStorage): StageLookup {
  return {
    local: (signature) => localStage(storage.local, signature),
    async remote(signature) {
      const got = await storage.getStage(signature);
      return got && { record: got.record, digest: got.image.descriptor.digest, image: got.image };
    },
    hasRemotes: storage.remotes.length > 0,
    candidates: (imageName, stage) => storage.candidates(imageName, stage),
    async chain(key) {
      const got = await storage.getChain(key);
      return got && { final: { record: got.record, digest: got.image.descriptor.digest, image: got.image }, chain: got.chain };
    },
  };
}

/** Planning: one manifest request per repository asked, nothing written anywhere. */
export function planLookup(local: LocalStagesStorage, remotes: readonly RegistryStages[]): StageLookup {
  return {
    local: (signature) => localStage(local, signature),
    async remote(signature) {
      for (const r of remotes) {
        const got = await r.peek(signature);
        if (got) return got;
      }
      return undefined;
    },
    hasRemotes: remotes.length > 0,
    candidates: (imageName, stage) => local.candidates(imageName, stage),
    async chain(key) {
      for (const r of remotes) {
        const got = await r.fetchChain(key, false);
        if (got?.record.chain) return { final: { record: got.record, digest: got.digest }, chain: got.record.chain };
      }
      return undefined;
    },
  };
}
