// The bundle-load use case (`tsbuild bundle load`): a bundle's images and stages into the local
// store, and with a stages repository also published there (as a build with --repo would).
import { withStoreLease } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { parseRepository } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistryStages, loadBundle } from '../storage/index.js';

export interface BundleLoadOptions {
  home: HomePaths;
  /** The archive to read. */
  input: string;
  /** Also publish the stages to this stages repository (as a build with --repo would). */
  repo?: string;
  registry?: RegistryClient;
  signal?: AbortSignal | undefined;
}

export async function bundleLoad(options: BundleLoadOptions): Promise<Awaited<ReturnType<typeof loadBundle>>> {
  // Blobs written but not yet named are protected from a concurrent `stages gc`.
  return withStoreLease(options.home, (store) => {
    const signal = options.signal ? { signal: options.signal } : {};
    const publishTo = options.repo && options.registry ? new RegistryStages(options.registry, parseRepository(options.repo), store, signal) : undefined;
    return loadBundle(store, options.input, { publishTo, ...signal });
  });
}
