// The image-pull use case (`tsbuild image pull`): an image of a registry into the local store, named
// by its normalised reference with kind=base, the convention builds use to find base images
// without network access.
import { withStoreLease } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { TSBUILD_ANNOTATION, formatReference, type Descriptor, type Platform, type Reference } from '../oci/index.js';
import { pullImage, type RegistryClient, type TransferProgress } from '../registry/index.js';

export interface ImagePullOptions {
  home: HomePaths;
  ref: Reference;
  /** Platform to take from a multi-platform image (default: the host's). */
  platform?: Platform | undefined;
  /** The client for the image's registry; closed when the pull ends. */
  registry(registry: string): RegistryClient;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImagePullResult {
  /** The name it is stored under (the normalised reference). */
  name: string;
  descriptor: Descriptor;
}

export async function imagePull(options: ImagePullOptions): Promise<ImagePullResult> {
  const { ref } = options;
  const name = formatReference(ref);
  const client = options.registry(ref.registry);
  // Connection and auth scheme are learnt while the store and the lease are made.
  void client.warmUp(ref.registry);
  try {
    // The lease keeps a concurrent gc off the blobs written before the name is.
    const descriptor = await withStoreLease(options.home, async (store) => {
      const pulled = await pullImage(client, ref, store, { platform: options.platform, signal: options.signal, onProgress: options.onProgress });
      await store.setRef(name, pulled.manifestDescriptor, { [TSBUILD_ANNOTATION.kind]: 'base' });
      return pulled.manifestDescriptor;
    });
    return { name, descriptor };
  } finally {
    await client.close();
  }
}
