// The bundle-load use case (`tsbuild bundle load`): a bundle's images and stages into the local
// store, and with a stages repository also published there (as a build with --repo would).
import { join } from 'node:path';
import { acquireLease } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { parseRepository } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistryStages, loadBundle } from '../storage/index.js';
import { openStore } from './project-options.js';

export interface BundleLoadOptions {
  home: HomePaths;
  /** The archive to read. */
  input: string;
  /** Also publish the stages to this stages repository (as a build with --repo would). */
  repo?: string;
  registry?: RegistryClient;
  signal?: AbortSignal;
}

export async function bundleLoad(options: BundleLoadOptions): Promise<Awaited<ReturnType<typeof loadBundle>>> {
  const store = await openStore(options.home);
  // Blobs written but not yet named are protected from a concurrent `stages gc`.
  const lease = await acquireLease(join(options.home.locks, 'leases'));
  try {
    const signal = options.signal ? { signal: options.signal } : {};
    const publishTo = options.repo && options.registry ? new RegistryStages(options.registry, parseRepository(options.repo), store, signal) : undefined;
    return await loadBundle(store, options.input, { publishTo, ...signal });
  } finally {
    await lease.release();
  }
}
