// tsbuild run IMAGE [-- CMD...]: run a built final image in the sandbox; exit with its exit code.
import type { Command } from 'commander';
import { homePaths, runImage } from '../../lib/index.js';
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
      const home = homePaths();
      process.exitCode = await withAbort((signal) =>
        runImage({
          dir: flags.dir,
          ...(flags.config ? { config: flags.config } : {}),
          home,
          imageName: imageName === '~' ? '' : imageName,
          command,
          network: flags.network === 'none' ? 'none' : 'host',
          ...(flags.repo ? { repo: flags.repo, registry: registryClient(flags.insecureRegistry) } : {}),
          async createRuntime(store) {
            const prepared = await prepareRuntime(flags);
            return 'exitCode' in prepared ? prepared : { ...createRuntime(home, store, prepared.choice), resolveWorkdir };
          },
          signal,
        }),
      );
    });
}
