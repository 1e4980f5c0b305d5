// The run use case (`tsbuild run IMAGE [-- ARGS...]`): run a built final image in the sandbox and
// resolve with its exit code, with `docker run`'s rules for ARGS, --entrypoint, -e, -w and -u. Nothing
// of the run is kept (Docker's --rm). Layers of an image found in a stages repository are fetched
// from that repository (--repo) when the snapshotter first opens them.
import { loadConfig, type LoadOptions } from '../config/index.js';
import { openStore, type LayoutStore } from '../content/index.js';
import { findExecutable, passwdEntry, runInStage, stageEnv, type ProcessToRun } from '../conveyor/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import { makeOwnedDir, removeOwnedDir } from '../internal/owned-dir.js';
import { ownerLocksDir } from '../internal/sweep-leftovers.js';
import type { HomePaths } from '../home.js';
import { layerSources, readStoredImage, type BlobFetcher } from '../image/index.js';
import { parseRepository } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistryStages, finalRefName } from '../storage/index.js';
import type { Runtime } from './build.js';

export interface RunImageOptions extends LoadOptions {
  home: HomePaths;
  /** The image name of werf.yaml ("" for a nameless image). */
  imageName: string;
  /** ARGS: replace the image's CMD (after its ENTRYPOINT); empty: ENTRYPOINT + CMD. */
  command: string[];
  /** --entrypoint: replaces ENTRYPOINT and clears CMD, as Docker does ("" leaves ARGS alone). */
  entrypoint?: string | undefined;
  /** -e KEY=VALUE entries, after the image's Env (a later one wins). */
  setEnv?: string[] | undefined;
  /** -w: the working directory (absolute), created when missing. */
  workdir?: string | undefined;
  /** -u: name or uid[:gid], resolved with the image's /etc/passwd and /etc/group. */
  user?: string | undefined;
  network: 'host' | 'none';
  /** The stages repository the image was built with: layers missing locally are fetched from it. */
  repo?: string;
  registry?: RegistryClient;
  /**
   * The sandbox and snapshotter, asked for once the image is known to be runnable. `{ exitCode }`
   * means the command was run elsewhere (re-executed in a user namespace) and ended with it.
   */
  createRuntime(store: LayoutStore): Promise<Runtime | { exitCode: number }>;
  signal?: AbortSignal | undefined;
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
      throw new TsbuildError(
        'TSB_STORE_NOT_FOUND',
        `${missing} layer(s) of image "${shown}" are not in the local store (it was found in a stages repository and never pulled)`,
        {
          hint: 'pass the repository it was built with: tsbuild run --repo REGISTRY/NAME ' + shown,
        },
      );
    }
    fetchers.push(new RegistryStages(options.registry, parseRepository(options.repo), store, options.signal ? { signal: options.signal } : {}));
  }
  const cfg = image.config.config ?? {};
  const argv = commandLine(cfg, options);
  if (argv.length === 0)
    throw new TsbuildError('TSB_USAGE', `image "${shown}" has no ENTRYPOINT or CMD`, { hint: 'pass a command: tsbuild run IMAGE -- CMD...' });
  if (options.workdir !== undefined && !options.workdir.startsWith('/')) {
    throw new TsbuildError('TSB_USAGE', `the working directory "${options.workdir}" is not an absolute path`, { hint: 'pass -w /PATH' });
  }
  const userSpec = options.user ?? cfg.User ?? '';
  const homeSet = [...(cfg.Env ?? []), ...(options.setEnv ?? [])].some((e) => e.startsWith('HOME='));
  const runtime = await options.createRuntime(store);
  if ('exitCode' in runtime) return runtime.exitCode;
  // Owned: a concurrent build's sweep leaves it alone however long the command runs, and removes it
  // if this process is killed.
  const tmpDir = await makeOwnedDir(options.home.tmp, 'run-', ownerLocksDir(options.home));
  const { exitCode } = await runInStage(
    image,
    {
      store,
      sandbox: runtime.sandbox,
      snapshotter: runtime.snapshotter,
      tmpDir,
      layers: (img) => layerSources(store, img, fetchers),
      ...(runtime.resolveWorkdir ? { resolveWorkdir: runtime.resolveWorkdir } : {}),
      signal: options.signal,
    },
    {
      key: `run-${config.project}-${options.imageName || 'image'}-${process.pid}`,
      what: `tsbuild run ${shown}`,
      image: `image "${shown}"`,
      mode: 'run',
      argv,
      env: mergeEnv(stageEnv(cfg), options.setEnv ?? []),
      cwd: options.workdir ?? (cfg.WorkingDir || '/'),
      createWorkdir: true,
      user: userSpec,
      beforeExec: (rootfs, proc) => dockerProcess(rootfs, proc, userSpec, homeSet),
      network: options.network,
      inheritStdio: true,
    },
  ).finally(() => removeOwnedDir(tmpDir));
  return exitCode;
}

/** docker run: ARGS replace CMD; --entrypoint replaces ENTRYPOINT and drops the image's CMD. */
function commandLine(cfg: { Entrypoint?: string[] | null; Cmd?: string[] | null }, options: Pick<RunImageOptions, 'command' | 'entrypoint'>): string[] {
  if (options.entrypoint !== undefined) return [...(options.entrypoint === '' ? [] : [options.entrypoint]), ...options.command];
  return [...(cfg.Entrypoint ?? []), ...(options.command.length > 0 ? options.command : (cfg.Cmd ?? []))];
}

/** KEY=VALUE lists: a later KEY replaces an earlier one in place. */
function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  for (const kv of overrides) {
    const key = kv.slice(0, kv.indexOf('=') + 1);
    const at = out.findIndex((e) => e.startsWith(key));
    if (at >= 0) out[at] = kv;
    else out.push(kv);
  }
  return out;
}

/**
 * Docker's last steps before the exec, on the image's root: a numeric uid the image does not know
 * runs with gid 0; HOME comes from the user's passwd entry unless the image or -e set it; a command
 * that is missing (127) or not executable (126) is refused with the exec error, as Docker does.
 */
async function dockerProcess(rootfs: string, proc: ProcessToRun, userSpec: string, homeSet: boolean): Promise<void> {
  const entry = await passwdEntry(rootfs, proc.uid);
  if (/^\d+$/.test(userSpec) && !entry) proc.gid = 0;
  if (!homeSet) proc.env = mergeEnv(proc.env, [`HOME=${entry?.home || (proc.uid === 0 ? '/root' : '/')}`]);
  const exec = await findExecutable(rootfs, proc.argv[0]!, proc.env, proc.cwd);
  if (!exec.found) {
    const path = proc.env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? '';
    throw new TsbuildError(exec.exitCode === 127 ? 'TSB_RUN_NOT_FOUND' : 'TSB_RUN_NOT_EXECUTABLE', exec.message, {
      hint: exec.exitCode === 127 ? `the command is looked up in the image (PATH=${path})` : 'run a file the image has with its execute bit set',
    });
  }
}
