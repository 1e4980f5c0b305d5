// An in-memory ContentStore + ReferenceStore for unit tests of the conveyor: the same contract as
// the OCI layout store (verified reads, idempotent writes), no disk.
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobInfo, BlobWriter, ImageStore, ReadOptions } from '../../lib/content/index.js';
import { sha256, type Digest } from '../../lib/digest.js';
import { TsbuildError } from '../../lib/errors.js';
import type { Descriptor } from '../../lib/oci/index.js';

export class MemoryStore implements ImageStore {
  readonly blobs = new Map<Digest, Buffer>();
  readonly refs = new Map<string, Descriptor>();
  /** Every digest read, in order (tests check what planning touches). */
  readonly reads: Digest[] = [];

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    const b = this.blobs.get(digest);
    return b && { digest, size: b.length };
  }

  async has(digest: Digest): Promise<boolean> {
    return this.blobs.has(digest);
  }

  read(digest: Digest, options: ReadOptions = {}): Readable {
    this.reads.push(digest);
    const b = this.blobs.get(digest);
    if (!b) {
      const r = new Readable({ read() {} });
      process.nextTick(() => r.destroy(new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} is not in the memory store`)));
      return r;
    }
    if (options.size !== undefined && options.size !== b.length)
      throw new TsbuildError('TSB_SIZE_MISMATCH', `blob ${digest}: size ${b.length}, expected ${options.size}`);
    return Readable.from([b]);
  }

  async readBytes(digest: Digest, maxBytes = 16 << 20): Promise<Buffer> {
    this.reads.push(digest);
    const b = this.blobs.get(digest);
    if (!b) throw new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} is not in the memory store`);
    if (b.length > maxBytes) throw new TsbuildError('TSB_TOO_LARGE', `blob ${digest} is over ${maxBytes} bytes`);
    return b;
  }

  async readJson<T>(digest: Digest, maxBytes?: number): Promise<T> {
    return JSON.parse((await this.readBytes(digest, maxBytes)).toString('utf8')) as T;
  }

  async createWriter(): Promise<BlobWriter> {
    const chunks: Buffer[] = [];
    let done = false;
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    return {
      stream,
      commit: async (expected: Partial<BlobInfo> = {}) => {
        if (done) throw new TsbuildError('TSB_INTERNAL', 'blob writer used after commit/abort');
        done = true;
        if (!stream.writableFinished) await new Promise<void>((resolve) => stream.end(resolve));
        return this.put(Buffer.concat(chunks), expected);
      },
      abort: async () => {
        done = true;
      },
    };
  }

  async write(source: Readable | AsyncIterable<Uint8Array>, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    const w = await this.createWriter();
    await pipeline(source, w.stream);
    return w.commit(expected);
  }

  async writeBytes(data: string | Uint8Array, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    return this.put(Buffer.from(data), expected);
  }

  async writeJson(value: unknown): Promise<{ info: BlobInfo; bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value));
    return { info: await this.writeBytes(bytes), bytes };
  }

  async delete(digest: Digest): Promise<void> {
    this.blobs.delete(digest);
  }

  async listBlobs(): Promise<Digest[]> {
    return [...this.blobs.keys()];
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    return this.refs.get(name);
  }

  async setRef(name: string, desc: Descriptor, annotations: Record<string, string> = {}): Promise<void> {
    this.refs.set(name, { mediaType: desc.mediaType, digest: desc.digest, size: desc.size, annotations: { ...annotations } });
  }

  async removeRefs(predicate: (name: string, desc: Descriptor) => boolean): Promise<number> {
    let n = 0;
    for (const [name, d] of this.refs) if (predicate(name, d) && this.refs.delete(name)) n++;
    return n;
  }

  async listRefs(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    return [...this.refs].map(([name, descriptor]) => ({ name, descriptor }));
  }

  private put(bytes: Buffer, expected: Partial<BlobInfo>): BlobInfo {
    const digest = sha256(bytes);
    if (expected.digest && expected.digest !== digest) throw new TsbuildError('TSB_DIGEST_MISMATCH', `expected ${expected.digest}, got ${digest}`);
    if (expected.size !== undefined && expected.size !== bytes.length)
      throw new TsbuildError('TSB_SIZE_MISMATCH', `expected ${expected.size} bytes, got ${bytes.length}`);
    this.blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  }
}
