// The image-load use case (`tsbuild image load`): the images of an oci-archive or docker-archive
// (optionally gzipped) into the local store, every blob verified, named with kind=base as pulled
// images are (builds find them as base images without network access).
import { resolve as resolvePath } from 'node:path';
import { withStoreLease } from '../content/index.js';
import type { HomePaths } from '../home.js';
import type { LoadArchiveResult } from '../image/index.js';
import { TSBUILD_ANNOTATION, formatReference, type Platform, type Reference } from '../oci/index.js';

export interface ImageLoadOptions {
  home: HomePaths;
  /** The archive file to read. */
  input: string;
  /** Name for the image when the archive gives none (or to rename it); single-image archives only. */
  name?: Reference | undefined;
  /** Platform to take from a multi-platform image (default: the host's). */
  platform?: Platform | undefined;
  signal?: AbortSignal | undefined;
}

export async function imageLoad(options: ImageLoadOptions): Promise<LoadArchiveResult> {
  const name = options.name !== undefined ? formatReference(options.name) : undefined;
  // lib/image (archives) is loaded by the use cases that need it, not with image push and pull.
  const { loadImageArchive } = await import('../image/index.js');
  // The lease keeps a concurrent gc off the blobs written before the images are named.
  return withStoreLease(options.home, (store) =>
    loadImageArchive(store, resolvePath(options.input), {
      name,
      signal: options.signal,
      annotations: { [TSBUILD_ANNOTATION.kind]: 'base' },
      platform: options.platform,
    }),
  );
}
