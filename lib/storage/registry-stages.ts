// Stages kept in a registry (`--repo R`): each stage image is R:<signature>, its manifest carrying
// the stage record (inputs, parent, state) as an annotation. Lookup is a manifest request by a
// predictable tag — nothing is ever listed (DESIGN decision 3).
import type { LayoutStore } from '../content/index.js';
import { join } from 'node:path';
import { sha256Hex, type Digest } from '../digest.js';
import { kernelLock } from '../internal/kernel-lock.js';
import { TsbuildError } from '../errors.js';
import { transferEvents, type EventSink } from '../events.js';
import { readStoredImage, type StoredImage } from '../image/index.js';
import { MediaType, TSBUILD_ANNOTATION, ociLayerMediaType, withTag, type Descriptor, type ImageManifest, type Reference } from '../oci/index.js';
import { RegistryError, getBlob, getManifest, headManifest, pushImage, putManifest, type FetchedManifest, type RegistryClient } from '../registry/index.js';
import type { StageRecord } from './local-stages.js';

export const RECORD_ANNOTATION = TSBUILD_ANNOTATION.stageRecord;

/** The tag of a chain key: `chain-` and 64 hex digits, never a signature (those are bare hex). */
function chainTag(key: string): string {
  return `chain-${key}`;
}

export interface RemoteStage {
  image: StoredImage;
  record: StageRecord;
}

export class RegistryStages {
  constructor(
    readonly client: RegistryClient,
    readonly repo: Reference,
    readonly store: LayoutStore,
    readonly options: {
      readOnly?: boolean;
      signal?: AbortSignal | undefined;
      onEvent?: EventSink;
      /** Directory of publish locks shared by the builders of this host (see docs/reliability.md). */
      publishLocks?: string;
    } = {},
  ) {}

  get name(): string {
    return `${this.repo.registry}/${this.repo.repository}`;
  }

  private ref(signature: string): Reference {
    return withTag(this.repo, signature);
  }

  /** The tag naming the last stage an image resolved to for a chain key (see chainTag). */
  private chainRef(key: string): Reference {
    return withTag(this.repo, chainTag(key));
  }

  private sig(): { signal?: AbortSignal | undefined } {
    return this.options.signal ? { signal: this.options.signal } : {};
  }

  /** The stage's record and manifest digest from one manifest request; nothing is stored (planning). */
  async peek(signature: string): Promise<{ record: StageRecord; digest: Digest } | undefined> {
    const got = await this.manifestOf(signature);
    return got && { record: got.record, digest: got.fetched.descriptor.digest as Digest };
  }

  private async manifestOf(
    signature: string,
    ref: Reference = this.ref(signature),
  ): Promise<{ fetched: FetchedManifest; manifest: ImageManifest; record: StageRecord } | undefined> {
    let fetched;
    try {
      fetched = await getManifest(this.client, ref, this.sig());
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return undefined;
      if (err instanceof TsbuildError && err.kind === 'NOT_FOUND') return undefined;
      throw err;
    }
    const manifest = fetched.document as ImageManifest;
    const recordText = manifest.annotations?.[RECORD_ANNOTATION];
    if (!recordText || !manifest.config) return undefined; // not a tsbuild stage: ignore rather than trust it
    let record: StageRecord;
    try {
      record = JSON.parse(recordText) as StageRecord;
    } catch {
      return undefined;
    }
    if (signature !== '' && record.signature !== signature) return undefined;
    return { fetched, manifest, record };
  }

  /** One manifest request; the manifest and config (not the layers) are copied into the local store. */
  async fetch(signature: string): Promise<RemoteStage | undefined> {
    return this.keep(await this.manifestOf(signature));
  }

  /**
   * The last stage an image resolved to under this chain key (one manifest request), with its chain
   * of signatures and states; undefined when the tag is missing or its stage records no chain.
   * `keep`: copy manifest and config into the local store (building), or only read (planning).
   */
  async fetchChain(key: string, keep: boolean): Promise<(RemoteStage & { digest: Digest }) | { record: StageRecord; digest: Digest } | undefined> {
    let got: Awaited<ReturnType<RegistryStages['manifestOf']>>;
    try {
      got = await this.manifestOfChain(key);
    } catch (err) {
      // The chain is a shortcut: a registry that cannot answer for it is asked stage by stage.
      if (err instanceof TsbuildError && err.code === 'TSB_ABORTED') throw err;
      return undefined;
    }
    if (!got?.record.chain || got.record.chain.length === 0) return undefined;
    const digest = got.fetched.descriptor.digest as Digest;
    if (!keep) return { record: got.record, digest };
    const kept = await this.keep(got);
    return kept && { ...kept, digest };
  }

  private async manifestOfChain(key: string): ReturnType<RegistryStages['manifestOf']> {
    const got = await this.manifestOf('', this.chainRef(key));
    return got;
  }

  /**
   * Point the chain tag of `key` at the published stage `signature` (the same manifest, so the same
   * digest): a GET of the stage's manifest and a PUT of the same bytes under the chain tag.
   */
  async tagChain(key: string, signature: string): Promise<void> {
    if (this.options.readOnly) return;
    const got = await this.manifestOf(signature);
    if (!got?.record.chain) return; // published before chains were recorded: nothing to point at
    await putManifest(this.client, this.chainRef(key), got.fetched.bytes, got.fetched.descriptor.mediaType, this.sig());
  }

  private async keep(got: Awaited<ReturnType<RegistryStages['manifestOf']>>): Promise<RemoteStage | undefined> {
    if (!got) return undefined;
    const { fetched, manifest, record } = got;
    await this.store.writeBytes(fetched.bytes, { digest: fetched.descriptor.digest, size: fetched.bytes.length });
    if (!(await this.store.has(manifest.config.digest))) {
      await getBlob(this.client, this.repo, manifest.config, this.store, this.sig());
    }
    return {
      image: await readStoredImage(this.store, { mediaType: fetched.descriptor.mediaType, digest: fetched.descriptor.digest, size: fetched.descriptor.size }),
      record,
    };
  }

  async exists(signature: string): Promise<boolean> {
    return (await headManifest(this.client, this.ref(signature), this.sig())) !== undefined;
  }

  /** Copy one blob of this repository into the local store; false when the repository lacks it. */
  async fetchBlob(descriptor: Descriptor): Promise<boolean> {
    const onProgress = this.options.onEvent ? transferEvents('pull', this.name, this.options.onEvent) : undefined;
    try {
      await getBlob(this.client, this.repo, descriptor, this.store, { ...this.sig(), ...(onProgress ? { onProgress } : {}) });
      return true;
    } catch (err) {
      if (err instanceof RegistryError && err.status === 404) return false;
      throw err;
    }
  }

  /** Download the layers of `image` that the local store lacks (a stage that must be built on it). */
  async fetchLayers(image: StoredImage): Promise<void> {
    const onProgress = this.options.onEvent ? transferEvents('pull', this.name, this.options.onEvent) : undefined;
    for (const layer of image.manifest.layers) {
      if (!(await this.store.has(layer.digest)))
        await getBlob(this.client, this.repo, layer, this.store, { ...this.sig(), ...(onProgress ? { onProgress } : {}) });
    }
  }

  /**
   * Publish a stage built here, first come first served: under the publish lock of this repository
   * and signature, re-check, push, and read the tag back. When another builder published the same
   * signature first (or its push landed after ours), theirs is returned and ours is dropped: what a
   * builder continues from and reports is always the stage the repository names.
   */
  async publish(record: StageRecord, image: StoredImage): Promise<PublishOutcome> {
    if (this.options.readOnly) throw new TsbuildError('TSB_INTERNAL', `${this.name} is read-only`);
    const lock = this.options.publishLocks
      ? await kernelLock(join(this.options.publishLocks, `${sha256Hex(`${this.name}:${record.signature}`)}.lock`), {
          ...this.sig(),
          sharedDir: true,
          onWait: () =>
            this.options.onEvent?.({
              type: 'warning',
              message: `waiting for another builder publishing stage ${record.stage} ${record.signature.slice(0, 12)} to ${this.name}`,
            }),
        })
      : undefined;
    try {
      const first = await this.fetch(record.signature);
      if (first) return { outcome: 'theirs', ...first };
      const annotated = await annotate(this.store, image, record);
      const onProgress = this.options.onEvent ? transferEvents('push', `${this.name}:${record.signature.slice(0, 12)}`, this.options.onEvent) : undefined;
      await pushImage(this.client, this.store, annotated, this.ref(record.signature), {
        ...this.sig(),
        mountFrom: this.repo.repository,
        ...(onProgress ? { onProgress } : {}),
      });
      // Builders that share no lock (other hosts) can both pass the re-check; the tag then names the
      // last push, and whoever reads it back after that push adopts it.
      const now = await this.peek(record.signature);
      if (now && now.digest !== annotated.digest) {
        const theirs = await this.fetch(record.signature);
        if (theirs) return { outcome: 'theirs', ...theirs };
      }
      return { outcome: 'published', image: await readStoredImage(this.store, annotated), record };
    } finally {
      await lock?.release();
    }
  }
}

export interface PublishOutcome extends RemoteStage {
  /** 'theirs': another builder's stage was there first; image and record are theirs. */
  outcome: 'published' | 'theirs';
}

/** The stage image with its record in the manifest annotations (what a registry copy carries). */
async function annotate(store: LayoutStore, image: StoredImage, record: StageRecord): Promise<Descriptor> {
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: image.manifest.config.digest, size: image.manifest.config.size },
    layers: image.manifest.layers.map((l) => ({
      mediaType: ociLayerMediaType(l.mediaType),
      digest: l.digest as Digest,
      size: l.size,
    })),
    annotations: { ...(image.manifest.annotations ?? {}), [RECORD_ANNOTATION]: JSON.stringify(record) },
  };
  const written = await store.writeJson(manifest);
  return { mediaType: MediaType.OciManifest, digest: written.info.digest, size: written.info.size };
}
