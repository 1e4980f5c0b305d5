// The run use case (`tsbuild run IMAGE [-- CMD...]`): run a built final image in the sandbox and
// resolve with its exit code. Layers of an image found in a stages repository are fetched from
// that repository (--repo) when the snapshotter first opens them.
import { loadConfig, type LoadOptions } from '../config/index.js';
import type { LayoutStore } from '../content/index.js';
import { runInStage, stageEnv } from '../conveyor/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import type { HomePaths } from '../home.js';
import { layerSources, readStoredImage, type BlobFetcher } from '../image/index.js';
import { parseRepository } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistryStages, finalRefName } from '../storage/index.js';
import type { Runtime } from './build.js';
import { openStore } from './project-options.js';

export interface RunImageOptions extends LoadOptions {
  home: HomePaths;
  /** The image name of werf.yaml ("" for a nameless image). */
  imageName: string;
  /** Replaces the image's CMD (after its ENTRYPOINT); empty: ENTRYPOINT + CMD. */
  command: string[];
  network: 'host' | 'none';
  /** The stages repository the image was built with: layers missing locally are fetched from it. */
  repo?: string;
  registry?: RegistryClient;
  /**
   * The sandbox and snapshotter, asked for once the image is known to be runnable. `{ exitCode }`
   * means the command was run elsewhere (re-executed in a user namespace) and ended with it.
   */
  createRuntime(store: LayoutStore): Promise<Runtime | { exitCode: number }>;
  signal?: AbortSignal;
}

export async function runImage(options: RunImageOptions): Promise<number> {
  const config = await loadConfig(options);
  const shown = options.imageName || '~';
  if (!config.images.some((i) => i.name === options.imageName)) {
    throw new TsbuildError('TSB_USAGE', `image "${shown}" is not defined in ${config.file}`, {
      hint: `defined images: ${config.images.map((i) => i.name || '~').join(', ')}`,
    });
  }
  const store = await openStore(options.home);
  const desc = await store.resolve(finalRefName(config.project, options.imageName));
  if (!desc) throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image "${shown}" has not been built yet`, { hint: `run: tsbuild build ${options.imageName}` });
  const image = await readStoredImage(store, desc);
  // An image found in a stages repository (`build --repo`) may have left its layers there.
  const fetchers: BlobFetcher[] = [];
  let missing = 0;
  for (const l of image.manifest.layers) if (!(await store.has(l.digest as Digest))) missing++;
  if (missing > 0) {
    if (!options.repo || !options.registry) {
      throw new TsbuildError('TSB_STORE_NOT_FOUND', `${missing} layer(s) of image "${shown}" are not in the local store (it was found in a stages repository and never pulled)`, {
        hint: 'pass the repository it was built with: tsbuild run --repo REGISTRY/NAME ' + shown,
      });
    }
    fetchers.push(new RegistryStages(options.registry, parseRepository(options.repo), store, options.signal ? { signal: options.signal } : {}));
  }
  const cfg = image.config.config ?? {};
  const argv = options.command.length ? [...(cfg.Entrypoint ?? []), ...options.command] : [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
  if (argv.length === 0) throw new TsbuildError('TSB_USAGE', `image "${shown}" has no ENTRYPOINT or CMD`, { hint: 'pass a command: tsbuild run IMAGE -- CMD...' });
  const runtime = await options.createRuntime(store);
  if ('exitCode' in runtime) return runtime.exitCode;
  const { exitCode } = await runInStage(
    image,
    {
      store,
      sandbox: runtime.sandbox,
      snapshotter: runtime.snapshotter,
      tmpDir: options.home.tmp,
      layers: (img) => layerSources(store, img, fetchers),
      ...(runtime.resolveWorkdir ? { resolveWorkdir: runtime.resolveWorkdir } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    },
    {
      key: `run-${config.project}-${options.imageName || 'image'}-${process.pid}`,
      what: `tsbuild run ${shown}`,
      image: `image "${shown}"`,
      mode: 'run',
      argv,
      env: stageEnv(cfg),
      cwd: cfg.WorkingDir || '/',
      createWorkdir: true,
      user: cfg.User ?? '',
      network: options.network,
      inheritStdio: true,
    },
  );
  return exitCode;
}
