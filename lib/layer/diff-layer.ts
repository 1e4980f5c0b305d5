// Turns a directory (a plain tree, or an overlayfs upper dir) into a stored OCI layer in one
// streaming pass: tar and its sha256 (diffId) in a worker thread → gzip (worker pool) → store
// writer (sha256 = digest). Memory stays constant whatever the layer size.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { DigestingStream, type Digest } from '../digest.js';
import type { ContentStore } from '../content/index.js';
import { layerMediaTypeFor, type Descriptor, type LayerCompressionSpec } from '../oci/index.js';
import { TsbuildError } from '../errors.js';
import type { GzipMode } from './compress.js';
import { DEFAULT_LAYER_COMPRESSION, createLayerCompressor } from './layer-compression.js';
import { treeTarStream, type TreeTarResult } from './tree-tar-stream.js';
import type { TreeTarOptions } from './tree-tar.js';
import { END_OF_ARCHIVE, TarChunker, encodeEntryHeader, padding, type TarEntry } from './tar-writer.js';

export interface WriteLayerOptions {
  /** In-image absolute paths left out with everything below them (sandbox mount points: /proc, /dev, /.tsbuild). */
  skip?: string[];
  /** Clamp mtimes to this (seconds since the epoch); see SOURCE_DATE_EPOCH. */
  sourceDateEpoch?: number;
  /** Keep xattrs other than overlay's own (default true). */
  xattrs?: boolean;
  excludeXattrPrefixes?: string[];
  /** gzip (default) or zstd with a level; the layer's media type follows. */
  compression?: LayerCompressionSpec | undefined;
  /** How gzip is produced (tests and benchmarks; the default is the layer format's). */
  gzip?: GzipMode;
  signal?: AbortSignal | undefined;
}

export interface LayerResult {
  /** mediaType (tar+gzip or tar+zstd), digest and size of the compressed blob. */
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar. */
  diffId: Digest;
  uncompressedSize: number;
  /** Tar entries, whiteouts included. */
  entries: number;
  whiteouts: number;
  /** True when the layer holds no entries (still a valid, stored layer: just the end-of-archive marker). */
  empty: boolean;
}

/** writeLayerFromUpperDir with `inPlace`: the layer, and what the walk made of the upper dir. */
export interface UpperLayerResult extends LayerResult {
  /** See TreeTarStats.matchesLayer and skippedPaths. */
  tree: { matchesLayer: boolean; skippedPaths: string[] };
}

/**
 * Export an overlayfs upper dir: char 0/0 and xattr whiteouts → `.wh.<name>`, opaque dirs → `.wh..wh..opq`.
 * With `inPlace` the upper dir is also made what unpacking the layer gives, where it can be (see
 * TreeTarOptions.inPlace), and `tree` says whether it was.
 */
export async function writeLayerFromUpperDir(
  upperDir: string,
  store: ContentStore,
  options: WriteLayerOptions & { inPlace?: 'trusted' | 'user' } = {},
): Promise<UpperLayerResult> {
  const { r, stats } = await storeTree(
    { ...treeOptions(options), root: upperDir, mode: 'overlay-upper', ...(options.inPlace ? { inPlace: options.inPlace } : {}) },
    store,
    options,
  );
  return { ...finish(r, stats.entries, stats.whiteouts), tree: { matchesLayer: stats.matchesLayer, skippedPaths: stats.skippedPaths } };
}

/** Export a plain directory tree as a layer (everything in it, no whiteout conversion). */
export function writeLayerFromDir(rootDir: string, store: ContentStore, options: WriteLayerOptions = {}): Promise<LayerResult> {
  return writeTree({ ...treeOptions(options), root: rootDir, mode: 'dir' }, store, options);
}

/** One entry for writeLayerFromEntries: content for regular files as a Buffer or a stream factory. */
export interface LayerEntrySource {
  entry: TarEntry;
  content?: Buffer | (() => AsyncIterable<Uint8Array>);
}

/**
 * Build a layer from entries given by the caller (git archives, synthetic files). Entries are
 * written in the given order; sort them by path for reproducible output. Sizes must match content.
 */
export async function writeLayerFromEntries(
  entries: Iterable<LayerEntrySource> | AsyncIterable<LayerEntrySource>,
  store: ContentStore,
  options: Pick<WriteLayerOptions, 'gzip' | 'compression' | 'signal' | 'sourceDateEpoch'> = {},
): Promise<LayerResult> {
  let count = 0;
  let whiteouts = 0;
  const epoch = options.sourceDateEpoch;
  async function* generate(): AsyncGenerator<Buffer> {
    for await (const src of entries) {
      const e = { ...src.entry };
      if (epoch !== undefined && (e.mtimeSec > epoch || (e.mtimeSec === epoch && e.mtimeNsec > 0))) {
        e.mtimeSec = epoch;
        e.mtimeNsec = 0;
      }
      count++;
      if (e.path.split('/').pop()!.startsWith('.wh.')) whiteouts++;
      yield encodeEntryHeader(e);
      if (e.type !== 'file') continue;
      let written = 0;
      if (Buffer.isBuffer(src.content)) {
        written = src.content.length;
        yield src.content;
      } else if (src.content) {
        for await (const c of src.content()) {
          written += c.length;
          yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
        }
      }
      if (written !== e.size) {
        throw new TsbuildError('TSB_LAYER_INVALID', `entry ${e.path}: ${written} bytes of content, header says ${e.size}`);
      }
      if (padding(e.size) > 0) yield Buffer.alloc(padding(e.size));
    }
    yield END_OF_ARCHIVE;
  }
  const r = await storeTarStream(Readable.from(generate()), store, options);
  return finish(r, count, whiteouts);
}

function treeOptions(o: WriteLayerOptions): Omit<TreeTarOptions, 'root' | 'mode'> {
  const t: Omit<TreeTarOptions, 'root' | 'mode'> = {};
  if (o.skip) t.skip = o.skip;
  if (o.sourceDateEpoch !== undefined) t.sourceDateEpoch = o.sourceDateEpoch;
  if (o.xattrs !== undefined) t.xattrs = o.xattrs;
  if (o.excludeXattrPrefixes) t.excludeXattrPrefixes = o.excludeXattrPrefixes;
  return t;
}

async function writeTree(tree: TreeTarOptions, store: ContentStore, options: WriteLayerOptions): Promise<LayerResult> {
  const { r, stats } = await storeTree(tree, store, options);
  return finish(r, stats.entries, stats.whiteouts);
}

/** A tree's tar, compressed and stored; the tar worker hashes it (diffId). */
async function storeTree(tree: TreeTarOptions, store: ContentStore, options: WriteLayerOptions): Promise<{ r: Stored; stats: TreeTarResult }> {
  const tar = treeTarStream(tree);
  const descriptor = await compressAndStore(tar, undefined, store, options);
  const stats = await tar.result;
  return { r: { descriptor, diffId: stats.digest, uncompressedSize: stats.bytes }, stats };
}

interface Stored {
  descriptor: Descriptor;
  diffId: Digest;
  uncompressedSize: number;
}

function finish(r: Stored, entries: number, whiteouts: number): LayerResult {
  return { ...r, entries, whiteouts, empty: entries === 0 };
}

/** Hash (diffId), compress and store an uncompressed tar stream. */
export async function storeTarStream(
  tar: Readable,
  store: ContentStore,
  options: Pick<WriteLayerOptions, 'gzip' | 'compression' | 'signal'> = {},
): Promise<Stored> {
  const tap = new DigestingStream();
  const descriptor = await compressAndStore(tar, tap, store, options);
  return { descriptor, diffId: tap.digest(), uncompressedSize: tap.bytes };
}

/** The pipeline of storeTarStream, with `tap` (when given) between the tar and the compressor. */
async function compressAndStore(
  tar: Readable,
  tap: DigestingStream | undefined,
  store: ContentStore,
  options: Pick<WriteLayerOptions, 'gzip' | 'compression' | 'signal'>,
): Promise<Descriptor> {
  const compression = options.compression ?? DEFAULT_LAYER_COMPRESSION;
  // The source may fail while the writer is being created (a tree worker refuses an entry at once):
  // that must not become an uncaught 'error' event. The stream stays errored; the pipeline reports it.
  tar.on('error', () => undefined);
  const writer = await store.createWriter();
  try {
    const stages: Array<NodeJS.ReadableStream | NodeJS.WritableStream | NodeJS.ReadWriteStream> = [
      tar,
      ...(tap ? [tap] : []),
      createLayerCompressor(compression, options.gzip),
      writer.stream,
    ];
    await pipeline(stages, options.signal ? { signal: options.signal } : {});
  } catch (err) {
    await writer.abort();
    if ((err as Error).name === 'AbortError') throw new TsbuildError('TSB_ABORTED', 'layer creation was cancelled', { cause: err });
    throw err;
  }
  const info = await writer.commit();
  return { mediaType: layerMediaTypeFor(compression), digest: info.digest, size: info.size };
}

// Re-exported for callers building tar bytes themselves.
export { TarChunker };
