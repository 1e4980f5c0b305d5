// The store contracts (containerd's content.Store, umoci's cas.Engine): a ContentStore knows bytes
// by digest, a ReferenceStore knows names -> descriptors. LayoutStore (OCI layout on disk) is the
// implementation; the conveyor depends on these contracts so its unit tests can use a memory store.
import type { Readable, Writable } from 'node:stream';
import type { Digest } from '../digest.js';
import type { Descriptor } from '../oci/index.js';

export interface BlobInfo {
  digest: Digest;
  size: number;
}

export interface BlobWriter {
  /** Write bytes here; the writer hashes them as they go. */
  readonly stream: Writable;
  /** Verify (against `expected` when given), make durable and visible. Idempotent if the blob exists. */
  commit(expected?: Partial<BlobInfo>): Promise<BlobInfo>;
  /** Drop what was written. */
  abort(): Promise<void>;
}

export interface ReadOptions {
  /** Expected size, checked at end of stream (and up front where it can be). */
  size?: number;
}

export interface ContentStore {
  stat(digest: Digest): Promise<BlobInfo | undefined>;
  has(digest: Digest): Promise<boolean>;
  /** Verifies digest and size at the end of the stream. */
  read(digest: Digest, options?: ReadOptions): Readable;
  /** A small blob (manifest, config) fully, verified, refusing anything over maxBytes. */
  readBytes(digest: Digest, maxBytes?: number): Promise<Buffer>;
  readJson<T>(digest: Digest, maxBytes?: number): Promise<T>;
  createWriter(): Promise<BlobWriter>;
  /** Idempotent; verified against `expected` when given. */
  write(source: Readable | AsyncIterable<Uint8Array>, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
  writeBytes(data: string | Uint8Array, expected?: Partial<BlobInfo>): Promise<BlobInfo>;
  writeJson(value: unknown): Promise<{ info: BlobInfo; bytes: Buffer }>;
  /** Idempotent. */
  delete(digest: Digest): Promise<void>;
  listBlobs(): Promise<Digest[]>;
}

export interface ReferenceStore {
  resolve(name: string): Promise<Descriptor | undefined>;
  setRef(name: string, desc: Descriptor, annotations?: Record<string, string>): Promise<void>;
  removeRefs(predicate: (name: string, desc: Descriptor) => boolean): Promise<number>;
  listRefs(): Promise<Array<{ name: string; descriptor: Descriptor }>>;
}

/** Both: what the conveyor and the local stages storage work with. */
export type ImageStore = ContentStore & ReferenceStore;
