// OCI image layout on disk: blobs/sha256/<hex>, oci-layout, index.json naming manifests by ref.
// Blobs are written to a temp file while hashing, fsynced, verified and renamed into place, so a
// partial or corrupt blob is never visible. index.json changes happen under a cross-process lock.
import { createReadStream, statSync, type BigIntStats } from 'node:fs';
import { mkdir, readFile, stat, unlink, readdir, utimes } from 'node:fs/promises';
import { randomBytes, createHash } from 'node:crypto';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { digestHex, isDigest, verifyingStream, type Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { atomicWriteFile } from '../internal/atomic-write.js';
import { withFileLock } from '../internal/file-lock.js';
import { ownedFilePrefix } from '../internal/owned-dir.js';
import { MANIFEST_LIMIT, MediaType, REF_NAME_ANNOTATION, type Descriptor, type ImageIndex } from '../oci/index.js';
import { blobFileWriter, type LayoutBlobWriter } from './blob-file-writer.js';
import type { BlobInfo, ContentStore, ReadOptions, ReferenceStore } from './content-store.js';

export type { BlobInfo, BlobWriter, ReadOptions } from './content-store.js';
export type { LayoutBlobWriter } from './blob-file-writer.js';

export class LayoutStore implements ContentStore, ReferenceStore {
  readonly root: string;
  private readonly blobDir: string;
  private readonly tmpDir: string;
  private ready: Promise<void> | undefined;
  /**
   * index.json as last parsed, with the identity of the file it came from. A build resolves every
   * stage by name: with hundreds of stages the index is hundreds of KB, and parsing it per lookup
   * was most of a no-op build of a large project. The file is only ever replaced by an atomic rename
   * (new inode), so an unchanged (inode, size, mtime) means unchanged content.
   */
  private indexCache: { key: string; index: ImageIndex } | undefined;

  constructor(root: string) {
    this.root = root;
    this.blobDir = join(root, 'blobs', 'sha256');
    this.tmpDir = join(root, '.tmp');
  }

  /** Create the layout files if missing (idempotent, safe across processes). */
  init(): Promise<void> {
    // An existing store (every command but the first) is checked with four stat calls on this
    // thread: as thread-pool round trips they waited behind whatever else the command's start-up
    // was running (~1-2 ms of a 60 ms push).
    this.ready ??= this.isInitialised() ? Promise.resolve() : this.create();
    return this.ready;
  }

  private isInitialised(): boolean {
    try {
      return (
        statSync(this.blobDir).isDirectory() &&
        statSync(this.tmpDir).isDirectory() &&
        statSync(join(this.root, 'oci-layout')).isFile() &&
        statSync(join(this.root, 'index.json')).isFile()
      );
    } catch {
      return false;
    }
  }

  private create(): Promise<void> {
    return (async () => {
      await mkdir(this.blobDir, { recursive: true });
      await mkdir(this.tmpDir, { recursive: true });
      const layoutFile = join(this.root, 'oci-layout');
      if (!(await exists(layoutFile))) await atomicWriteFile(layoutFile, '{"imageLayoutVersion":"1.0.0"}');
      const indexFile = join(this.root, 'index.json');
      if (!(await exists(indexFile))) {
        await withFileLock(this.lockPath(), async () => {
          if (!(await exists(indexFile))) await this.writeIndex({ schemaVersion: 2, mediaType: MediaType.OciIndex, manifests: [] });
        });
      }
    })();
  }

  blobPath(digest: Digest): string {
    return join(this.blobDir, digestHex(digest));
  }

  async stat(digest: Digest): Promise<BlobInfo | undefined> {
    try {
      const st = await stat(this.blobPath(digest));
      return { digest, size: st.size };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }

  async has(digest: Digest): Promise<boolean> {
    return (await this.stat(digest)) !== undefined;
  }

  /** A stream of the blob that fails at the end if digest or size do not match. */
  read(digest: Digest, options: ReadOptions = {}): Readable {
    const src = createReadStream(this.blobPath(digest), { highWaterMark: 1 << 20 });
    const verify = verifyingStream(`blob ${digest}`, digest, options.size);
    src.on('error', (err) => {
      const e =
        (err as NodeJS.ErrnoException).code === 'ENOENT' ? new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} is not in the store ${this.root}`) : err;
      verify.destroy(e);
    });
    return src.pipe(verify);
  }

  /** Read a small blob (manifest, config) fully, verified, refusing anything over maxBytes. */
  async readBytes(digest: Digest, maxBytes = 16 << 20): Promise<Buffer> {
    let data: Buffer;
    try {
      const st = await stat(this.blobPath(digest));
      if (st.size > maxBytes) {
        throw new TsbuildError('TSB_TOO_LARGE', `blob ${digest} is ${st.size} bytes, more than the ${maxBytes} allowed here`);
      }
      data = await readFile(this.blobPath(digest));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new TsbuildError('TSB_STORE_NOT_FOUND', `blob ${digest} is not in the store ${this.root}`);
      }
      throw err;
    }
    const actual = `sha256:${createHash('sha256').update(data).digest('hex')}` as Digest;
    if (actual !== digest) {
      throw new TsbuildError('TSB_STORE_CORRUPT', `blob ${digest} in ${this.root} is corrupt (content hashes to ${actual})`, {
        hint: 'run `tsbuild stages gc` to drop it; it will be fetched or rebuilt again',
      });
    }
    return data;
  }

  /** A JSON blob; manifests and indexes by default (configs need CONFIG_LIMIT). */
  async readJson<T>(digest: Digest, maxBytes = MANIFEST_LIMIT): Promise<T> {
    return JSON.parse((await this.readBytes(digest, maxBytes)).toString('utf8')) as T;
  }

  async createWriter(): Promise<LayoutBlobWriter> {
    await this.init();
    // Named after this process (pid, start time, pid namespace): gc and the next build remove it if we die.
    const tmp = join(this.tmpDir, `${ownedFilePrefix()}${randomBytes(8).toString('hex')}`);
    return blobFileWriter(tmp, (digest) => this.blobPath(digest), `the store ${this.root}`);
  }

  /** Store a readable's bytes; verified against `expected` if given. */
  async write(source: Readable | AsyncIterable<Uint8Array>, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    if (expected.digest && expected.size !== undefined) {
      const have = await this.stat(expected.digest);
      if (have && have.size === expected.size) {
        if (source instanceof Readable) source.destroy();
        // Refresh the mtime: a concurrent gc keeps blobs newer than the oldest live lease.
        await utimes(this.blobPath(expected.digest), new Date(), new Date()).catch(() => undefined);
        return have;
      }
    }
    const w = await this.createWriter();
    try {
      await pipeline(source, w.stream);
    } catch (err) {
      await w.abort();
      throw err;
    }
    return w.commit(expected);
  }

  async writeBytes(data: string | Uint8Array, expected: Partial<BlobInfo> = {}): Promise<BlobInfo> {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    return this.write(Readable.from([buf]), expected);
  }

  async writeJson(value: unknown): Promise<{ info: BlobInfo; bytes: Buffer }> {
    const bytes = Buffer.from(JSON.stringify(value));
    return { info: await this.writeBytes(bytes), bytes };
  }

  async delete(digest: Digest): Promise<void> {
    await unlink(this.blobPath(digest)).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
  }

  async listBlobs(): Promise<Digest[]> {
    await this.init();
    const names = await readdir(this.blobDir);
    return names.map((n) => `sha256:${n}`).filter(isDigest) as Digest[];
  }

  // ---- references (index.json) ----

  private lockPath(): string {
    return join(this.root, '.index.lock');
  }

  async readIndex(): Promise<ImageIndex> {
    await this.init();
    const file = join(this.root, 'index.json');
    // Synchronous: a monorepo's no-op build asks ~200 times; a promise stat goes through the thread pool.
    let st: BigIntStats | undefined;
    try {
      st = statSync(file, { bigint: true, throwIfNoEntry: false });
    } catch {
      // unreadable: readFile below fails with the reason
    }
    const key = st ? `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}` : undefined;
    const cached = this.indexCache;
    // A copy of the list: callers (updateIndex) replace idx.manifests; the entries are never mutated.
    if (key !== undefined && cached?.key === key) return { ...cached.index, manifests: [...cached.index.manifests] };
    const text = await readFile(file, 'utf8');
    try {
      const idx = JSON.parse(text) as ImageIndex;
      if (!Array.isArray(idx.manifests)) throw new Error('manifests is not a list');
      this.indexCache = key !== undefined ? { key, index: { ...idx, manifests: [...idx.manifests] } } : undefined;
      return idx;
    } catch (err) {
      throw new TsbuildError('TSB_STORE_CORRUPT', `${join(this.root, 'index.json')} is not a valid OCI index: ${(err as Error).message}`, {
        hint: 'restore it from a backup or remove the store directory to start afresh',
      });
    }
  }

  private async writeIndex(idx: ImageIndex): Promise<void> {
    await atomicWriteFile(join(this.root, 'index.json'), JSON.stringify(idx, null, 1));
  }

  /** Apply a change to index.json under the cross-process lock (read, modify, atomic write). */
  async updateIndex(change: (manifests: Descriptor[]) => Descriptor[]): Promise<void> {
    await this.init();
    await withFileLock(this.lockPath(), async () => {
      const idx = await this.readIndex();
      idx.manifests = change(idx.manifests);
      await this.writeIndex(idx);
    });
  }

  async resolve(name: string): Promise<Descriptor | undefined> {
    const idx = await this.readIndex();
    return idx.manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
  }

  /** Point `name` at `desc` (replacing a previous target); the referenced blobs must already be stored. */
  async setRef(name: string, desc: Descriptor, annotations: Record<string, string> = {}): Promise<void> {
    const entry: Descriptor = {
      mediaType: desc.mediaType,
      digest: desc.digest,
      size: desc.size,
      annotations: { ...annotations, [REF_NAME_ANNOTATION]: name },
    };
    if (desc.platform) entry.platform = desc.platform;
    // Re-tagging with the same target and annotations (every no-op build tags its final images) must
    // not rewrite the whole index under the lock once per image.
    const current = (await this.readIndex()).manifests.find((m) => m.annotations?.[REF_NAME_ANNOTATION] === name);
    if (current && sameDescriptor(current, entry)) return;
    await this.updateIndex((ms) => [...ms.filter((m) => m.annotations?.[REF_NAME_ANNOTATION] !== name), entry]);
  }

  async removeRefs(predicate: (name: string, desc: Descriptor) => boolean): Promise<number> {
    let removed = 0;
    await this.updateIndex((ms) =>
      ms.filter((m) => {
        const name = m.annotations?.[REF_NAME_ANNOTATION];
        if (name !== undefined && predicate(name, m)) {
          removed++;
          return false;
        }
        return true;
      }),
    );
    return removed;
  }

  async listRefs(): Promise<Array<{ name: string; descriptor: Descriptor }>> {
    const idx = await this.readIndex();
    const out: Array<{ name: string; descriptor: Descriptor }> = [];
    for (const m of idx.manifests) {
      const name = m.annotations?.[REF_NAME_ANNOTATION];
      if (name !== undefined) out.push({ name, descriptor: m });
    }
    return out;
  }
}

function sameDescriptor(a: Descriptor, b: Descriptor): boolean {
  const aa = a.annotations ?? {};
  const ba = b.annotations ?? {};
  const keys = Object.keys(aa);
  return (
    a.mediaType === b.mediaType &&
    a.digest === b.digest &&
    a.size === b.size &&
    JSON.stringify(a.platform) === JSON.stringify(b.platform) &&
    keys.length === Object.keys(ba).length &&
    keys.every((k) => aa[k] === ba[k])
  );
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

export function layoutStore(root: string): LayoutStore {
  return new LayoutStore(root);
}
