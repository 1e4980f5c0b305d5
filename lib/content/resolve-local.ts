// Finding an image of the local store by the name a user typed (here, not in lib/image, so that
// `image push` finds its image without loading archives and layer code).
import type { LayoutStore } from './layout-store.js';
import { formatReference, parseReference, type Descriptor } from '../oci/index.js';

/** A name in the store: exactly as given, else as a normalised reference ("busybox" → docker.io/library/busybox:latest). */
export async function resolveLocal(store: LayoutStore, text: string): Promise<{ name: string; descriptor: Descriptor } | undefined> {
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
