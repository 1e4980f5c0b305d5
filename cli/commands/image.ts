// tsbuild image pull|push|inspect|save|load|list: move images between registries, archives and the
// local store. Pulled and loaded images are named by their normalised reference with kind=base, the
// convention builds use to find base images without network access.
import type { Command } from 'commander';
// Not lib/index.js: the use cases there pull in the whole library (conveyor, config, templates),
// ~0.8 MB of bundle that pull and push do not need (~60 ms of compiling per run, CPU profile);
// inspect loads it on demand. The image use cases have an entry of their own that imports only the
// store and the registry client (lib/image and lib/layer are loaded by the use cases that need them).
import { homePaths } from '../../lib/home.js';
import { TsbuildError } from '../../lib/errors.js';
import { parsePlatform, parseReference } from '../../lib/oci/index.js';
import type { TransferProgress } from '../../lib/registry/index.js';
import { imageLoad, imagePull, imagePush, imageSave, listImages } from '../../lib/use-cases/image-transfer.js';
import { formatSize, table } from '../format.js';
import { registryClient, withAbort } from '../shared.js';

interface RemoteFlags {
  creds?: string;
  insecureRegistry: string[];
  caCert?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function remoteOptions(c: Command): Command {
  return c
    .option('--creds <user:pass>', 'credentials for this registry (default: saved by `tsbuild login`, Docker/containers auth files)')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
    .option('--ca-cert <file>', 'extra CA certificates (PEM) to trust');
}

/** The client factory the use cases ask for the registry they talk to (--creds applies to that one). */
function clientsFor(flags: RemoteFlags): (registry: string) => ReturnType<typeof registryClient> {
  return (registry) => registryClient(flags.insecureRegistry, { creds: flags.creds, credsFor: [registry], caCert: flags.caCert });
}

function progressPrinter(): (p: TransferProgress) => void {
  return (p) => {
    if (p.phase === 'done' || p.phase === 'skipped' || p.phase === 'mounted') {
      process.stderr.write(`  ${p.digest.slice(7, 19)} ${formatSize(p.total).padStart(10)} ${p.phase === 'done' ? 'transferred' : p.phase}\n`);
    }
  };
}

/** The subcommands, in the order `tsbuild image --help` lists them. */
const SUBCOMMANDS: Record<string, (image: Command) => void> = {
  pull: registerPull,
  push: registerPush,
  inspect: registerInspect,
  save: registerSave,
  load: registerLoad,
  list: registerList,
};

/**
 * `tsbuild image` and its subcommands; with argv naming one (`tsbuild image push ...`), that one
 * alone: its help, errors and run need no other (commander lists siblings only in `image --help`,
 * and suggests them only for an unknown name, which registers them all).
 */
export function registerImage(program: Command, argv?: string[]): void {
  const image = program.command('image').description('pull, push, inspect, save and load images');
  const sub = argv?.[2] === 'image' ? argv[3] : undefined;
  if (sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub)) SUBCOMMANDS[sub]!(image);
  else for (const register of Object.values(SUBCOMMANDS)) register(image);
}

function registerPull(image: Command): void {
  remoteOptions(image.command('pull').description('pull an image into the local store (used by builds as a base image)').argument('<ref>', 'image reference'))
    .option('--platform <os/arch>', 'platform to take from a multi-platform image (default: the host)')
    .option('-q, --quiet', 'print only the digest')
    .action(async (text: string, flags: RemoteFlags & { platform?: string; quiet?: boolean }) => {
      const ref = parseReference(text);
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      const pulled = await withAbort((signal) =>
        imagePull({ home: homePaths(), ref, platform, registry: clientsFor(flags), onProgress: flags.quiet ? undefined : progressPrinter(), signal }),
      );
      process.stdout.write(flags.quiet ? `${pulled.descriptor.digest}\n` : `pulled ${pulled.name} ${pulled.descriptor.digest}\n`);
    });
}

function registerPush(image: Command): void {
  remoteOptions(
    image
      .command('push')
      .description('push an image of the local store (a final image like project/image:latest, or a pulled/loaded one) to a registry')
      .argument('<src>', 'name in the local store (see `tsbuild image list`)')
      .argument('<dest>', 'destination reference, e.g. registry.example.com/team/app:1.0'),
  )
    .option('-q, --quiet', 'print only the digest')
    .option(
      '--layer-compression <c>',
      'push the layers compressed this way: gzip | zstd | zstd:LEVEL (1-19); others are recompressed first (default: as stored)',
    )
    .action(async (src: string, destText: string, flags: RemoteFlags & { quiet?: boolean; layerCompression?: string }) => {
      const dest = parseReference(destText);
      // lib/layer only for this flag: a plain push does not load it.
      const layerCompression =
        flags.layerCompression !== undefined ? (await import('../../lib/layer/index.js')).parseLayerCompression(flags.layerCompression) : undefined;
      const pushed = await withAbort((signal) =>
        imagePush({
          home: homePaths(),
          src,
          dest,
          layerCompression,
          registry: clientsFor(flags),
          onProgress: flags.quiet ? undefined : progressPrinter(),
          signal,
        }),
      );
      process.stdout.write(flags.quiet ? `${pushed.digest}\n` : `pushed ${pushed.reference}@${pushed.digest}\n`);
    });
}

function registerInspect(image: Command): void {
  remoteOptions(
    image
      .command('inspect')
      .description('show manifest digest, config summary and layers as JSON (local store first, else the registry)')
      .argument('<ref>', 'store name or image reference'),
  )
    .option('--platform <os/arch>', 'platform to show from a multi-platform image (default: the host)')
    .option('--remote', 'ask the registry even if the image is in the local store')
    .action(async (text: string, flags: RemoteFlags & { platform?: string; remote?: boolean }) => {
      const { inspectImage } = await import('../../lib/index.js');
      const out = await withAbort((signal) =>
        inspectImage({
          home: homePaths(),
          ref: text,
          ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
          remote: !!flags.remote,
          registry: clientsFor(flags),
          signal,
        }),
      );
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    });
}

function registerSave(image: Command): void {
  image
    .command('save')
    .description('write images of the local store to an archive (streamed; oci-archive keeps index.json names, docker-archive is for docker/podman load)')
    .argument('<refs...>', 'names in the local store')
    .requiredOption('-o, --output <file>', 'archive file to write')
    .option('--format <format>', 'oci-archive | docker-archive', 'oci-archive')
    .action(async (refs: string[], flags: { output: string; format: string }) => {
      const res = await withAbort((signal) => imageSave({ home: homePaths(), refs, output: flags.output, format: flags.format, signal }));
      process.stdout.write(`saved ${res.images.map((i) => i.name).join(', ')} to ${res.file} (${res.format}, ${res.blobs} blobs, ${formatSize(res.bytes)})\n`);
    });
}

function registerLoad(image: Command): void {
  image
    .command('load')
    .description('load images from an oci-archive or docker-archive (optionally gzipped) into the local store, verifying every blob')
    .requiredOption('-i, --input <file>', 'archive file to read')
    .option('--name <ref>', 'name for the image when the archive gives none (or to rename it); single-image archives only')
    .option('--platform <os/arch>', 'platform to take from a multi-platform image (default: the host)')
    .action(async (flags: { input: string; name?: string; platform?: string }) => {
      const name = flags.name !== undefined ? parseReference(flags.name) : undefined;
      const platform = flags.platform ? parsePlatform(flags.platform) : undefined;
      const res = await withAbort((signal) => imageLoad({ home: homePaths(), input: flags.input, name, platform, signal }));
      // Say which name the archive gave (ref.name / RepoTags) and what it became: "busybox" is docker.io/library/busybox:latest.
      for (const i of res.images) {
        i.names.forEach((n, k) => {
          const origin =
            i.found?.[k] === undefined ? 'named by --name' : `${res.format === 'docker-archive' ? 'RepoTags' : 'ref name'} "${i.found[k]}" in the archive`;
          process.stdout.write(`loaded ${n} ${i.descriptor.digest} (${res.format}, ${i.layers} layers, ${origin})\n`);
        });
      }
    });
}

function registerList(image: Command): void {
  image
    .command('list')
    .description('list named images in the local store (pulled, loaded and final images, artifacts marked "not final"; --all adds stages)')
    .option('--all', 'include stage images')
    .option('--format <format>', 'table | json', 'table')
    .action(async (flags: { all?: boolean; format: string }) => {
      if (flags.format !== 'table' && flags.format !== 'json') throw new TsbuildError('TSB_USAGE', `--format must be table or json (got "${flags.format}")`);
      const rows = await listImages(homePaths(), { all: !!flags.all });
      if (flags.format === 'json') {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const lines = [['NAME', 'KIND', 'DIGEST', 'SIZE']];
      for (const r of rows) lines.push([r.name, r.kind || '-', r.digest.slice(0, 19), r.size === undefined ? '?' : formatSize(r.size)]);
      process.stdout.write(`${table(lines)}\n`);
    });
}
