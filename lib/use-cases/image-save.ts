// The image-save use case (`tsbuild image save`): images of the local store into one archive file,
// streamed (oci-archive keeps the store's names; docker-archive is for `docker load`/`podman load`).
import { resolve as resolvePath } from 'node:path';
import { openStore, requireLocal, type LocalImage } from '../content/index.js';
import type { HomePaths } from '../home.js';

export interface ImageSaveOptions {
  home: HomePaths;
  /** Names in the local store. */
  refs: string[];
  /** The archive file to write. */
  output: string;
  /** oci-archive | docker-archive (checked here: the parser lives in lib/image, loaded on demand). */
  format: string;
  signal?: AbortSignal | undefined;
}

export interface ImageSaveResult {
  images: LocalImage[];
  /** The archive's absolute path. */
  file: string;
  format: string;
  blobs: number;
  bytes: number;
}

export async function imageSave(options: ImageSaveOptions): Promise<ImageSaveResult> {
  // lib/image (archives) is loaded by the use cases that need it, not with image push and pull.
  const { parseArchiveFormat, saveImageArchive } = await import('../image/index.js');
  const format = parseArchiveFormat(options.format);
  const store = await openStore(options.home);
  const images: LocalImage[] = [];
  for (const r of options.refs) images.push(await requireLocal(store, r));
  const file = resolvePath(options.output);
  const res = await saveImageArchive(store, images, file, { format, signal: options.signal });
  return { images, file, format, blobs: res.blobs, bytes: res.bytes };
}
