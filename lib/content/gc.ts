// Garbage collection of the local layout: delete blobs no reference reaches. Safe while builds run:
// blobs written after the oldest live lease started are kept (they may be about to be referenced).
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from '../digest.js';
import { isIndexMediaType, isManifestMediaType, type Descriptor, type ImageIndex, type ImageManifest } from '../oci/index.js';
import type { LayoutStore } from './layout-store.js';
import { oldestLiveLease } from './leases.js';
import { sweepOwnedFiles } from '../internal/owned-dir.js';

export interface GcResult {
  removed: number;
  freedBytes: number;
  kept: number;
}

async function reachableBlobs(store: LayoutStore): Promise<Set<Digest>> {
  const seen = new Set<Digest>();
  const visit = async (d: Descriptor): Promise<void> => {
    if (seen.has(d.digest)) return;
    seen.add(d.digest);
    if (!(await store.has(d.digest))) return;
    if (isManifestMediaType(d.mediaType)) {
      const m = await store.readJson<ImageManifest>(d.digest);
      seen.add(m.config.digest);
      for (const l of m.layers) seen.add(l.digest);
    } else if (isIndexMediaType(d.mediaType)) {
      const idx = await store.readJson<ImageIndex>(d.digest);
      for (const c of idx.manifests) await visit(c);
    }
  };
  for (const { descriptor } of await store.listRefs()) await visit(descriptor);
  return seen;
}

export async function gcStore(store: LayoutStore, leasesDir: string, options: { dryRun?: boolean } = {}): Promise<GcResult> {
  const startedAt = Date.now();
  const oldestLease = await oldestLiveLease(leasesDir);
  const keepNewerThan = Math.min(oldestLease ?? startedAt, startedAt) - 60_000;
  const reachable = await reachableBlobs(store);
  const result: GcResult = { removed: 0, freedBytes: 0, kept: 0 };
  for (const digest of await store.listBlobs()) {
    if (reachable.has(digest)) {
      result.kept++;
      continue;
    }
    const st = await stat(store.blobPath(digest)).catch(() => undefined);
    if (!st) continue;
    if (st.mtimeMs >= keepNewerThan) {
      result.kept++;
      continue;
    }
    if (!options.dryRun) await store.delete(digest);
    result.removed++;
    result.freedBytes += st.size;
  }
  // Temp files of processes that died mid-write.
  await sweepOwnedFiles(join(store.root, '.tmp'), { dryRun: !!options.dryRun });
  return result;
}
