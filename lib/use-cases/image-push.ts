// The image-push use case (`tsbuild image push`): an image of the local store (a final image, or a
// pulled or loaded one) to a registry, as stored or with its layers compressed another way first.
import { openStore, requireLocal, withStoreLease, type LayoutStore } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { formatReference, type Descriptor, type LayerCompressionSpec, type Reference } from '../oci/index.js';
import { pushImage, type PushedImage, type RegistryClient, type TransferProgress } from '../registry/index.js';

export interface ImagePushOptions {
  home: HomePaths;
  /** A name in the local store (as stored, or as a reference that normalises to one). */
  src: string;
  dest: Reference;
  /** Push the layers compressed this way, recompressing those that are not (default: as stored). */
  layerCompression?: LayerCompressionSpec | undefined;
  /** The client for the destination's registry; closed when the push ends. */
  registry(registry: string): RegistryClient;
  onProgress?: ((p: TransferProgress) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface ImagePushResult extends PushedImage {
  /** The destination, normalised. */
  reference: string;
}

export async function imagePush(options: ImagePushOptions): Promise<ImagePushResult> {
  const { dest } = options;
  const client = options.registry(dest.registry);
  // Connection and auth scheme are learnt while the store is opened and the image found.
  void client.warmUp(dest.registry);
  const { signal, onProgress } = options;
  const push = (store: LayoutStore, descriptor: Descriptor): Promise<PushedImage> => pushImage(client, store, descriptor, dest, { signal, onProgress });
  const compression = options.layerCompression;
  try {
    const pushed = compression
      ? // The recompressed copy is not named: the lease keeps a concurrent gc off it until it is pushed.
        await withStoreLease(options.home, async (store) => {
          const found = await requireLocal(store, options.src);
          // lib/image (and with it lib/layer) only here: a plain push loads neither.
          const { recompressImage } = await import('../image/index.js');
          const r = await recompressImage(store, found.descriptor, compression, { signal });
          return push(store, r.descriptor);
        })
      : await (async () => {
          const store = await openStore(options.home);
          return push(store, (await requireLocal(store, options.src)).descriptor);
        })();
    return { ...pushed, reference: formatReference(dest) };
  } finally {
    await client.close();
  }
}
