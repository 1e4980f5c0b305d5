// `tsbuild image load`: read an oci-archive or docker-archive (optionally gzipped) in one streaming
// pass. Every file is hashed while it is written into the store; files named blobs/sha256/<hex>
// must match that digest. Images are checked (manifest, config, every layer present; diff_ids) and
// only then named in index.json, all at the end: a corrupt or incomplete archive references nothing.
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { once } from 'node:events';
import { posix } from 'node:path';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { BlobInfo, BlobWriter, LayoutStore } from '../content/index.js';
import { isDigest, type Digest } from '../digest.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import { TarParser, type TarEntry } from '../layer/index.js';
import { MANIFEST_LIMIT, parseReference, type Platform } from '../oci/index.js';
import type { ArchiveContents, ArchiveFile, ArchiveFormat } from './archive.js';
import { dockerArchiveImages, ociArchiveImages, type LoadedImage } from './archive-images.js';

export type { LoadedImage } from './archive-images.js';

export interface LoadArchiveOptions {
  /** Name for the image when the archive holds exactly one (overrides names in the archive). */
  name?: string | undefined;
  /** Platform chosen from a multi-platform index (default: the host's). */
  platform?: Platform | undefined;
  /** Annotations put on the index.json entries of the loaded images. */
  annotations?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
}

export interface LoadArchiveResult {
  format: ArchiveFormat;
  images: LoadedImage[];
}

const META_FILES = new Set(['index.json', 'manifest.json', 'oci-layout', 'repositories']);
const META_LIMIT = MANIFEST_LIMIT;
const BLOB_PATH = /^blobs\/([a-z0-9]+)\/([a-f0-9]+)$/;

function archivePath(p: string): string {
  const n = posix.normalize(p.replace(/^(\.\/|\/)+/, '')).replace(/\/+$/, '');
  if (n === '..' || n.startsWith('../')) throw new TsbuildError('TSB_LAYER_UNSAFE', `image archive entry "${p}" points outside the archive`);
  return n === '.' ? '' : n;
}

function writeChunk(w: BlobWriter, chunk: Buffer): Promise<void> | undefined {
  if (w.stream.write(chunk)) return undefined;
  return once(w.stream, 'drain').then(() => undefined);
}

/** One streaming pass: every regular file goes into the store, verified where its name is a digest. */
export async function readArchive(store: LayoutStore, file: string, signal?: AbortSignal): Promise<ArchiveContents> {
  const head = Buffer.alloc(2);
  const fh = await open(file, 'r').catch((err: NodeJS.ErrnoException) => {
    throw new TsbuildError('TSB_USAGE', `cannot open the archive ${file}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: err });
  });
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  await store.init();
  const meta = new Map<string, Buffer>();
  const files = new Map<string, ArchiveFile>();
  const links = new Map<string, string>();
  const writers: Array<Promise<BlobWriter>> = [];
  let chain: Promise<void> = Promise.resolve();
  let chainError: unknown;
  const then = (fn: () => Promise<void> | undefined): void => {
    chain = chain.then(fn).catch((err: unknown) => {
      chainError ??= err;
    });
  };

  let current: { path: string; kind: 'meta' | 'blob' | 'skip'; chunks: Buffer[]; size: number; writer?: Promise<BlobWriter>; magic: Buffer[] } | undefined;
  const parser = new TarParser({
    entry(e: TarEntry) {
      const path = archivePath(e.path);
      if (e.type === 'symlink' || e.type === 'link') {
        const target = e.type === 'symlink' ? posix.join(posix.dirname(path), e.linkname ?? '') : (e.linkname ?? '');
        links.set(path, archivePath(target));
        current = undefined;
        return;
      }
      if (e.type !== 'file') {
        current = undefined;
        return;
      }
      if (META_FILES.has(path)) {
        if (e.size > META_LIMIT) throw new TsbuildError('TSB_TOO_LARGE', `${path} in the archive is ${e.size} bytes, more than the ${META_LIMIT}-byte limit`);
        current = { path, kind: 'meta', chunks: [], size: 0, magic: [] };
        return;
      }
      const writer = store.createWriter();
      writers.push(writer);
      current = { path, kind: 'blob', chunks: [], size: 0, writer, magic: [] };
    },
    data(chunk: Buffer) {
      const cur = current;
      if (!cur) return;
      if (cur.kind === 'meta') {
        cur.chunks.push(chunk);
        return;
      }
      if (cur.size < 4) cur.magic.push(chunk.subarray(0, 4 - cur.size));
      cur.size += chunk.length;
      then(async () => {
        const w = await cur.writer!;
        await writeChunk(w, chunk);
      });
    },
    endEntry() {
      const cur = current;
      current = undefined;
      if (!cur) return;
      if (cur.kind === 'meta') {
        meta.set(cur.path, Buffer.concat(cur.chunks));
        return;
      }
      then(async () => {
        const w = await cur.writer!;
        const m = BLOB_PATH.exec(cur.path);
        let expected: Digest | undefined;
        if (m) {
          if (m[1] !== 'sha256' || !isDigest(`sha256:${m[2]}`)) {
            throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `archive entry ${cur.path}: only sha256 blobs are supported`);
          }
          expected = `sha256:${m[2]}` as Digest;
        }
        let info: BlobInfo;
        try {
          info = await w.commit(expected ? { digest: expected, size: cur.size } : { size: cur.size });
        } catch (err) {
          if (err instanceof DigestMismatchError) {
            throw new TsbuildError('TSB_DIGEST_MISMATCH', `the archive is corrupt: ${cur.path} hashes to ${err.actual}; nothing was loaded`, {
              hint: 'the file was damaged after it was written; save or copy the archive again',
              details: { expected: err.expected, actual: err.actual },
            });
          }
          throw err;
        }
        files.set(cur.path, { ...info, magic: Buffer.concat(cur.magic) });
      });
    },
  });

  const raw = createReadStream(file, { highWaterMark: 1 << 20 });
  const input: Readable = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip({ chunkSize: 1 << 20 })) : raw;
  raw.on('error', (err) => input.destroy(err));
  let ok = false;
  try {
    try {
      for await (const chunk of input as AsyncIterable<Buffer>) {
        if (signal?.aborted) throw new TsbuildError('TSB_ABORTED', 'load interrupted');
        parser.push(chunk);
        // Wait for the writes this chunk caused: memory stays at one read chunk.
        await chain;
        if (chainError) throw chainError;
      }
      parser.end();
    } catch (err) {
      if (err instanceof TsbuildError) {
        throw err.code === 'TSB_LAYER_INVALID'
          ? new TsbuildError('TSB_LAYER_INVALID', `${file} is not a valid image archive: ${err.message}`, {
              hint: 'check that the file is complete (it may be truncated) and is an oci-archive or docker-archive tar',
              cause: err,
            })
          : err;
      }
      if ((err as { code?: string }).code === 'Z_DATA_ERROR' || (err as { code?: string }).code === 'Z_BUF_ERROR') {
        throw new TsbuildError('TSB_LAYER_INVALID', `${file} is gzip-compressed but the compressed data is corrupt: ${(err as Error).message}`, { cause: err });
      }
      throw err;
    }
    await chain;
    if (chainError) throw chainError;
    ok = true;
  } finally {
    input.destroy();
    raw.destroy();
    await chain;
    // Temp files of unfinished entries go away (abort is a no-op for committed blobs).
    if (!ok) for (const w of await Promise.allSettled(writers)) if (w.status === 'fulfilled') await w.value.abort();
  }

  const lookup = (path: string): ArchiveFile | undefined => {
    let p = archivePath(path);
    for (let hops = 0; hops < 16; hops++) {
      const f = files.get(p);
      if (f) return f;
      const next = links.get(p);
      if (next === undefined) return undefined;
      p = next;
    }
    return undefined;
  };
  return { meta, files, links, lookup };
}

export async function loadImageArchive(store: LayoutStore, file: string, options: LoadArchiveOptions = {}): Promise<LoadArchiveResult> {
  const contents = await readArchive(store, file, options.signal);
  let format: ArchiveFormat;
  let images: LoadedImage[];
  if (contents.meta.has('index.json')) {
    format = 'oci-archive';
    images = await ociArchiveImages(store, contents, options.platform);
  } else if (contents.meta.has('manifest.json')) {
    format = 'docker-archive';
    images = await dockerArchiveImages(store, contents);
  } else {
    throw new TsbuildError('TSB_LAYER_INVALID', `${file} is not an image archive: it has neither index.json (oci-archive) nor manifest.json (docker-archive)`, {
      hint: 'create archives with `tsbuild image save`, `skopeo copy … oci-archive:FILE` or `docker save`',
    });
  }
  if (images.length === 0) throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `${file} holds no images`);
  if (options.name !== undefined) {
    if (images.length > 1) {
      throw new TsbuildError('TSB_USAGE', `--name can only name a single image, but ${file} holds ${images.length}`);
    }
    images = [{ names: [options.name], descriptor: images[0]!.descriptor, layers: images[0]!.layers }];
  }
  const unnamed = images.find((i) => i.names.length === 0);
  if (unnamed) {
    const found = unnamed.found?.[0];
    const why = found !== undefined ? `its ref name "${found}" is only a tag, not an image reference` : 'no ref.name/RepoTags';
    throw new TsbuildError('TSB_USAGE', `image ${unnamed.descriptor.digest} in ${file} has no name (${why}); nothing was loaded`, {
      hint: 'give it one with --name REGISTRY/REPOSITORY:TAG',
    });
  }
  // A name with a digest is a content address: it may only name that content (else a later
  // `from: REPO@sha256:…` would build on an image the digest does not describe).
  for (const image of images) {
    for (const name of image.names) {
      const digest = parseReference(name).digest;
      if (digest === undefined || digest === image.descriptor.digest || digest === image.index) continue;
      throw new TsbuildError('TSB_USAGE', `cannot name image ${image.descriptor.digest} "${name}": the name's digest is not the image's; nothing was loaded`, {
        hint: `name it with a tag (REPOSITORY:TAG), or with its own digest ${image.descriptor.digest}`,
      });
    }
  }
  // Everything is verified and stored: now name the images (the only visible change).
  for (const image of images) {
    for (const name of image.names) await store.setRef(name, image.descriptor, options.annotations ?? {});
  }
  return { format, images };
}
