// An image of the test's own making in a LayoutStore: one layer per list of entries (written by
// tsbuild's layer writer, as a stage's would be), a config naming their diffIds, a manifest and a
// name, so that snapshotters and umoci can both be given it.
import type { LayoutStore } from '../../lib/content/index.js';
import type { Digest } from '../../lib/digest.js';
import { writeLayerFromEntries, type LayerEntrySource } from '../../lib/layer/index.js';
import { MediaType } from '../../lib/oci/index.js';
import type { LayerSource } from '../../lib/sandbox/index.js';

/** Stores the image under `name`; returns its layers, bottom first, as a snapshotter takes them. */
export async function storeLayeredImage(store: LayoutStore, name: string, layerEntries: LayerEntrySource[][]): Promise<LayerSource[]> {
  const layers: LayerSource[] = [];
  const diffIds: Digest[] = [];
  for (const entries of layerEntries) {
    const r = await writeLayerFromEntries(entries, store);
    diffIds.push(r.diffId);
    layers.push({ diffId: r.diffId, descriptor: r.descriptor, open: () => store.read(r.descriptor.digest, { size: r.descriptor.size }) });
  }
  const cfg = await store.writeJson({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } });
  const manifest = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, ...cfg.info },
    layers: layers.map((l) => l.descriptor),
  });
  await store.setRef(name, { mediaType: MediaType.OciManifest, ...manifest.info });
  return layers;
}
