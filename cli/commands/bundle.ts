// tsbuild bundle save|load: move a project's final images and every stage needed to rebuild them to
// a machine without network (or into another registry) as one oci-archive.
import { resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { bundleLoad, bundleSave, homePaths } from '../../lib/index.js';
import { parseRepository } from '../../lib/oci/index.js';
import { formatSize } from '../format.js';
import { registryClient, withAbort } from '../shared.js';

interface SaveFlags {
  output: string;
  dir: string;
  config?: string;
  env?: string;
  dev?: boolean;
}

interface LoadFlags {
  input: string;
  repo?: string;
  insecureRegistry: string[];
  creds?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function registerBundle(program: Command): void {
  const bundle = program.command('bundle').description("save and load a project's images with every stage needed to rebuild them (air-gapped sites)");
  bundle
    .command('save')
    .description(
      "write what the current commit builds (each image's final image and every stored stage it was built on, with their records) to one oci-archive; refuses, listing them, when stages are not stored",
    )
    .argument('[images...]', 'image names (default: all), with the images they need')
    .requiredOption('-o, --output <file>', 'bundle file to write')
    .option('--dir <dir>', 'project directory (where werf.yaml is)', process.cwd())
    .option('--config <file>', 'config file, relative to --dir')
    .option('--env <env>', 'werf environment, visible in templates as .Env')
    .option('--dev', 'bundle what the git work tree builds (after `build --dev`) instead of the current commit')
    .action(async (images: string[], flags: SaveFlags) => {
      const res = await withAbort((signal) =>
        bundleSave({
          dir: flags.dir,
          ...(flags.config ? { config: flags.config } : {}),
          ...(flags.env ? { werfEnv: flags.env } : {}),
          home: homePaths(),
          images,
          dev: !!flags.dev,
          registry: registryClient(),
          output: flags.output,
          signal,
        }),
      );
      const sel = res.selection;
      process.stdout.write(
        `saved ${sel.finals} final images, ${sel.stages} stages and ${sel.bases} base images of ${res.project}${flags.dev ? ' (working tree)' : ''} to ${res.file} (${res.blobs} blobs, ${formatSize(res.bytes)})\n`,
      );
    });
  bundle
    .command('load')
    .description("put a bundle's images and stages into the local store; with --repo also publish the stages as REPO:<signature>")
    .requiredOption('-i, --input <file>', 'bundle file to read')
    .option('--repo <registry/name>', 'stages repository to publish the stages to (as a build with --repo would)')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
    .option('--creds <user:pass>', 'credentials for the --repo registry')
    .action(async (flags: LoadFlags) => {
      const res = await withAbort((signal) =>
        bundleLoad({
          home: homePaths(),
          input: resolvePath(flags.input),
          ...(flags.repo
            ? { repo: flags.repo, registry: registryClient(flags.insecureRegistry, { creds: flags.creds, credsFor: [parseRepository(flags.repo).registry] }) }
            : {}),
          signal,
        }),
      );
      process.stdout.write(`loaded ${res.finals} final images, ${res.stages} stages and ${res.bases} base images of ${res.project}\n`);
      if (flags.repo) process.stdout.write(`published ${res.published} stages to ${flags.repo} (${res.alreadyThere} were already there)\n`);
    });
}
