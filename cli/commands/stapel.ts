// tsbuild stapel build: make the ansible toolchain from Debian packages and store it (optionally push it).
import type { Command } from 'commander';
import { homePaths, imagePush, stapelBuild } from '../../lib/index.js';
import { DEFAULT_STAPEL_IMAGE } from '../../lib/stapel/index.js';
import { parseReference } from '../../lib/oci/index.js';
import { formatSize } from '../format.js';
import { registryClient, withAbort } from '../shared.js';

interface StapelFlags {
  push?: string;
  name?: string;
  debCache?: string;
  insecureRegistry: string[];
  creds?: string;
  quiet?: boolean;
}

export function registerStapel(program: Command): void {
  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  const stapel = program.command('stapel').description('the toolchain ansible stages run with (ansible-core + python from Debian packages)');
  stapel
    .command('build')
    .description('build the toolchain from Debian packages (apt-get download + dpkg -x) and store it as an OCI image')
    .option('--name <ref>', 'store it under this name', DEFAULT_STAPEL_IMAGE)
    .option('--push <ref>', 'also push it to a registry (builds elsewhere use it with --stapel-image REF)')
    .option('--deb-cache <dir>', 'keep downloaded .deb files here (default $TSBUILD_HOME/cache/stapel-debs)')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
    .option('--creds <user:pass>', 'credentials for the --push registry')
    .option('-q, --quiet', 'print only the digest')
    .action(async (flags: StapelFlags) => {
      const home = homePaths();
      const log = (m: string): void => {
        if (!flags.quiet) process.stderr.write(`stapel: ${m}\n`);
      };
      const started = Date.now();
      const built = await withAbort((signal) => stapelBuild({ home, name: flags.name, debCache: flags.debCache, onProgress: log, signal }));
      log(
        `stored ${built.name}: ${built.packages.length} packages, layer ${formatSize(built.layerSize)} (${formatSize(built.uncompressedSize)} unpacked) in ${((Date.now() - started) / 1000).toFixed(1)}s`,
      );
      if (flags.push) {
        const dest = parseReference(flags.push);
        const registry = (host: string): ReturnType<typeof registryClient> => registryClient(flags.insecureRegistry, { creds: flags.creds, credsFor: [host] });
        const pushed = await withAbort((signal) => imagePush({ home, src: built.name, dest, registry, signal }));
        log(`pushed ${pushed.reference}@${pushed.digest}`);
      }
      process.stdout.write(flags.quiet ? `${built.descriptor.digest}\n` : `${built.name}@${built.descriptor.digest}\n`);
    });
}
