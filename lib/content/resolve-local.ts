// Finding an image of the local store by the name a user typed (here, not in lib/image, so that
// `image push` finds its image without loading archives and layer code).
import { TsbuildError } from '../errors.js';
import type { LayoutStore } from './layout-store.js';
import { formatReference, parseReference, type Descriptor } from '../oci/index.js';

export interface LocalImage {
  /** The name it is stored under. */
  name: string;
  descriptor: Descriptor;
}

/** A name in the store: exactly as given, else as a normalised reference ("busybox" → docker.io/library/busybox:latest). */
export async function resolveLocal(store: LayoutStore, text: string): Promise<LocalImage | undefined> {
  const exact = await store.resolve(text);
  if (exact) return { name: text, descriptor: exact };
  let name: string;
  try {
    name = formatReference(parseReference(text));
  } catch {
    return undefined;
  }
  const d = await store.resolve(name);
  return d ? { name, descriptor: d } : undefined;
}

/** resolveLocal, for a command that has nothing to do without the image: its absence is the error. */
export async function requireLocal(store: LayoutStore, text: string): Promise<LocalImage> {
  const found = await resolveLocal(store, text);
  if (found) return found;
  throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image ${text} is not in the local store`, {
    hint: `fetch it with \`tsbuild image pull ${text}\`, or see what is stored with \`tsbuild image list\``,
  });
}
