// Image archives (`tsbuild image save/load`): shared vocabulary of the two formats and a streaming
// tar file writer. oci-archive is a tar of an OCI image layout (oci-layout, index.json naming each
// image, blobs/sha256/*); docker-archive has manifest.json (Config, RepoTags, Layers) as read by
// `docker load`, `podman load` and skopeo, with its files also under blobs/sha256/ (as Docker 25 writes).
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { BlobInfo } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { encodeEntryHeader, END_OF_ARCHIVE, padding } from '../layer/index.js';
import { DOCKER_HUB, formatReference, parseReference, type Reference } from '../oci/index.js';

export type ArchiveFormat = 'oci-archive' | 'docker-archive';

const ARCHIVE_FORMATS: readonly ArchiveFormat[] = ['oci-archive', 'docker-archive'];

/** Annotation containerd (and Docker 25's save) put on index.json entries: the full image name. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

export function parseArchiveFormat(text: string): ArchiveFormat {
  if ((ARCHIVE_FORMATS as readonly string[]).includes(text)) return text as ArchiveFormat;
  throw new TsbuildError('TSB_USAGE', `unknown archive format "${text}"`, { hint: `use one of: ${ARCHIVE_FORMATS.join(', ')}` });
}

/**
 * A parsed reference, or undefined for names that are not image references. A name without '/',
 * ':' or '@' counts as a bare tag ("latest", what `skopeo copy … oci-archive:F:latest` writes), not
 * as docker.io/library/<name>, so that tags never turn into made-up repositories.
 */
export function referenceOf(name: string): Reference | undefined {
  if (!/[/:@]/.test(name)) return undefined;
  try {
    return parseReference(name);
  } catch {
    return undefined;
  }
}

/** The short form Docker prints ("busybox:latest", "team/app:1"), for manifest.json RepoTags. */
export function familiarName(ref: Reference): string {
  const full = formatReference(ref);
  if (ref.registry !== DOCKER_HUB) return full;
  return full.slice(`${DOCKER_HUB}/`.length).replace(/^library\/(?=[^/]+$)/, '');
}

const MTIME = 0; // fixed, so saving the same images twice gives the same archive

/** Writes tar entries to a stream, waiting for it to drain: memory stays at one chunk. */
export class TarFileWriter {
  bytes = 0;

  constructor(private readonly out: Writable) {}

  private async put(chunk: Buffer): Promise<void> {
    this.bytes += chunk.length;
    if (!this.out.write(chunk)) await once(this.out, 'drain');
  }

  async dir(path: string): Promise<void> {
    await this.put(encodeEntryHeader({ path, type: 'dir', mode: 0o755, uid: 0, gid: 0, size: 0, mtimeSec: MTIME, mtimeNsec: 0 }));
  }

  async file(path: string, data: Buffer): Promise<void> {
    await this.stream(path, data.length, [data]);
  }

  /** A file whose `size` bytes come from `source`; a source yielding another count is an error. */
  async stream(path: string, size: number, source: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<void> {
    await this.put(encodeEntryHeader({ path, type: 'file', mode: 0o644, uid: 0, gid: 0, size, mtimeSec: MTIME, mtimeNsec: 0 }));
    let n = 0;
    for await (const chunk of source) {
      n += chunk.length;
      if (n > size) break;
      await this.put(chunk);
    }
    if (n !== size) throw new TsbuildError('TSB_SIZE_MISMATCH', `${path}: expected ${size} bytes, the source gave ${n > size ? 'more' : n}`);
    const pad = padding(size);
    if (pad > 0) await this.put(Buffer.alloc(pad));
  }

  async finish(): Promise<void> {
    await this.put(END_OF_ARCHIVE);
  }
}

/** A file of the archive, stored as a blob. */
export interface ArchiveFile extends BlobInfo {
  /** First bytes, to tell gzip/zstd layers from plain tar. */
  magic: Buffer;
}

/** What one pass over the archive found. */
export interface ArchiveContents {
  /** Small metadata files at the top (index.json, manifest.json, oci-layout, repositories). */
  meta: Map<string, Buffer>;
  files: Map<string, ArchiveFile>;
  /** Symlinks and hardlinks: path -> target path (both archive paths). */
  links: Map<string, string>;
  /** Where a path resolves to (following links), or undefined. */
  lookup(path: string): ArchiveFile | undefined;
}
