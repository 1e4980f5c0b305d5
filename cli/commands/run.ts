// tsbuild run IMAGE [-- CMD...]: run a built final image in the sandbox; exit with its exit code.
import { lstat, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../../lib/config/index.js';
import { homePaths, openStore } from '../../lib/index.js';
import { TsbuildError } from '../../lib/errors.js';
import { layerSources, readStoredImage } from '../../lib/image/index.js';
import { RegistryStages, finalRefName } from '../../lib/storage/index.js';
import { parseRepository } from '../../lib/oci/index.js';
import { stageEnv, inspectPath, resolveUser } from '../../lib/conveyor/index.js';
import { createRuntime, prepareRuntime, SANDBOX_FLAG, SNAPSHOTTER_FLAG } from '../runtime-factory.js';
import { registryClient, withAbort } from '../shared.js';
import { resolveWorkdir } from '../../runtime/resolve-workdir.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('run the final image of IMAGE (built by `tsbuild build`) in the sandbox')
    .argument('<image>', 'image name from werf.yaml ("~" for a nameless image)')
    .argument('[command...]', 'command to run instead of the image entrypoint/cmd (after --)')
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <file>', 'config file')
    .option('--network <mode>', 'host | none', 'host')
    .option('--repo <registry/name>', 'stages repository the image was built with: layers missing locally are fetched from it')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .option(...SANDBOX_FLAG)
    .option(...SNAPSHOTTER_FLAG)
    .action(async (imageName: string, command: string[], flags: { dir: string; config?: string; network: string; sandbox?: string; snapshotter?: string; repo?: string; insecureRegistry: string[] }) => {
      const config = await loadConfig({ dir: flags.dir, ...(flags.config ? { config: flags.config } : {}) });
      const name = imageName === '~' ? '' : imageName;
      if (!config.images.some((i) => i.name === name)) {
        throw new TsbuildError('TSB_USAGE', `image "${imageName}" is not defined in ${config.file}`, {
          hint: `defined images: ${config.images.map((i) => i.name || '~').join(', ')}`,
        });
      }
      const home = homePaths();
      const store = await openStore(home);
      const desc = await store.resolve(finalRefName(config.project, name));
      if (!desc) {
        throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image "${imageName}" has not been built yet`, { hint: `run: tsbuild build ${name}` });
      }
      const image = await readStoredImage(store, desc);
      // An image found in a stages repository (`build --repo`) may have left its layers there.
      const missing: string[] = [];
      for (const l of image.manifest.layers) if (!(await store.has(l.digest))) missing.push(l.digest);
      if (missing.length > 0) {
        if (!flags.repo) {
          throw new TsbuildError('TSB_STORE_NOT_FOUND', `${missing.length} layer(s) of image "${imageName}" are not in the local store (it was found in a stages repository and never pulled)`, {
            hint: 'pass the repository it was built with: tsbuild run --repo REGISTRY/NAME ' + imageName,
          });
        }
        await new RegistryStages(registryClient(flags.insecureRegistry), parseRepository(flags.repo), store).fetchLayers(image);
      }
      const cfg = image.config.config ?? {};
      const argv = command.length ? [...(cfg.Entrypoint ?? []), ...command] : [...(cfg.Entrypoint ?? []), ...(cfg.Cmd ?? [])];
      if (argv.length === 0) throw new TsbuildError('TSB_USAGE', `image "${imageName}" has no ENTRYPOINT or CMD`, { hint: 'pass a command: tsbuild run IMAGE -- CMD...' });
      const prepared = await prepareRuntime(flags);
      if ('exitCode' in prepared) return void (process.exitCode = prepared.exitCode);
      const runtime = createRuntime(home, store, prepared.choice);
      const key = `run-${config.project}-${name || 'image'}-${process.pid}`;
      const code = await withAbort(async (signal) => {
        const snap = await runtime.snapshotter.prepare(key, layerSources(store, image), { signal });
        try {
          for (const t of ['/proc', '/dev']) {
            if ((await inspectPath(snap.rootfs, t)) === 'symlink') {
              throw new TsbuildError('TSB_LAYER_UNSAFE', `the image has a symlink at ${t}; tsbuild refuses to mount there`);
            }
          }
          // Resolved inside the image first: a hostile WorkingDir is refused before anything is created.
          const cwd = resolveWorkdir(snap.rootfs, cfg.WorkingDir || '/', `image "${imageName}"`);
          await ensureWorkdir(snap.rootfs, cwd);
          const user = await resolveUser(snap.rootfs, cfg.User ?? '');
          const res = await runtime.sandbox.run(
            { rootfs: snap.rootfs, argv, env: stageEnv(cfg), cwd, image: `image "${imageName}"`, uid: user.uid, gid: user.gid, network: flags.network === 'none' ? 'none' : 'host', mounts: [] },
            { signal, inheritStdio: true },
          );
          return res.exitCode;
        } finally {
          await runtime.snapshotter.remove(key);
        }
      });
      process.exitCode = code;
    });
}

/** Docker creates a missing WORKDIR; only do it when no component is a symlink (hostile images). */
async function ensureWorkdir(rootfs: string, cwd: string): Promise<void> {
  let p = rootfs;
  for (const part of cwd.split('/').filter(Boolean)) {
    p = join(p, part);
    try {
      const st = await lstat(p);
      if (st.isSymbolicLink() || !st.isDirectory()) return; // let the sandbox resolve it inside the new root
    } catch {
      await mkdir(p);
    }
  }
}
