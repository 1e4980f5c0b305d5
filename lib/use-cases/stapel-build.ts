// The stapel-build use case (`tsbuild stapel build`): the ansible toolchain made from Debian
// packages into the local store, with the .deb files kept where builds that make it keep them.
import { join } from 'node:path';
import { openStore } from '../content/index.js';
import type { HomePaths } from '../home.js';
import { buildStapel, type StapelBuildResult } from '../stapel/index.js';

export interface StapelBuildUseCaseOptions {
  home: HomePaths;
  /** Stored under this name (default tsbuild/stapel:<format>). */
  name?: string | undefined;
  /** Where downloaded .deb files are kept (default the home's cache/stapel-debs, as builds do). */
  debCache?: string | undefined;
  onProgress?: ((message: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export async function stapelBuild(options: StapelBuildUseCaseOptions): Promise<StapelBuildResult> {
  const store = await openStore(options.home);
  return buildStapel({
    store,
    debCache: options.debCache ?? join(options.home.root, 'cache', 'stapel-debs'),
    tmpDir: options.home.tmp,
    name: options.name,
    onProgress: options.onProgress,
    signal: options.signal,
  });
}
