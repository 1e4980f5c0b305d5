// tsbuild image pull|push|inspect|save|load|list: move images between registries, archives and the
// local store. Pulled and loaded images are named by their normalised reference with kind=base, the
// convention builds use to find base images without network access.
import { resolve as resolvePath, join } from 'node:path';
import type { Command } from 'commander';
// Not lib/index.js: the use cases pull in the whole library (conveyor, config, templates), ~0.8 MB
// of bundle that pull and push do not need (~60 ms of compiling per run, CPU profile); inspect
// loads it on demand. lib/image (archives, recompression) and lib/layer (tar, gzip/zstd, workers)
// are loaded by the subcommands that use them: a pull needs neither.
import { homePaths } from '../../lib/home.js';
import { acquireLease, openStore, resolveLocal, type LayoutStore } from '../../lib/content/index.js';
import { TsbuildError } from '../../lib/errors.js';
import type { ArchiveImage } from '../../lib/image/index.js';
import {
  formatReference,
  parsePlatform,
  parseReference,
  TSBUILD_ANNOTATION,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
} from '../../lib/oci/index.js';
import { pullImage, pushImage, type PushedImage, type TransferProgress } from '../../lib/registry/index.js';
import { formatSize, table } from '../format.js';
import { registryClient, withAbort } from '../shared.js';

const KIND = TSBUILD_ANNOTATION.kind;

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

function clientFor(flags: RemoteFlags, registry: string): ReturnType<typeof registryClient> {
  return registryClient(flags.insecureRegistry, { creds: flags.creds, credsFor: [registry], caCert: flags.caCert });
}

function notInStore(text: string): TsbuildError {
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `image ${text} is not in the local store`, {
    hint: `fetch it with \`tsbuild image pull ${text}\`, or see what is stored with \`tsbuild image list\``,
  });
}

function progressPrinter(): (p: TransferProgress) => void {
  return (p) => {
    if (p.phase === 'done' || p.phase === 'skipped' || p.phase === 'mounted') {
      process.stderr.write(`  ${p.digest.slice(7, 19)} ${formatSize(p.total).padStart(10)} ${p.phase === 'done' ? 'transferred' : p.phase}\n`);
    }
  };
}

async function withLease<T>(fn: (store: LayoutStore) => Promise<T>): Promise<T> {
  const home = homePaths();
  // Blobs written but not yet named are protected from a concurrent `stages gc`. The lease and the
  // store are made together: in an empty home both create directories and files, and a pull waits
  // for both before its first request.
  const [store, lease] = await Promise.allSettled([openStore(home), acquireLease(join(home.locks, 'leases'))]);
  if (store.status === 'rejected') {
    if (lease.status === 'fulfilled') await lease.value.release();
    throw store.reason;
  }
  if (lease.status === 'rejected') throw lease.reason;
  try {
    return await fn(store.value);
  } finally {
    await lease.value.release();
  }
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
      const name = formatReference(ref);
      const client = clientFor(flags, ref.registry);
      void client.warmUp(ref.registry);
      try {
        const pulled = await withLease((store) =>
          withAbort(async (signal) => {
            const p = await pullImage(client, ref, store, {
              signal,
              ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
              ...(flags.quiet ? {} : { onProgress: progressPrinter() }),
            });
            await store.setRef(name, p.manifestDescriptor, { [KIND]: 'base' });
            return p;
          }),
        );
        process.stdout.write(flags.quiet ? `${pulled.manifestDescriptor.digest}\n` : `pulled ${name} ${pulled.manifestDescriptor.digest}\n`);
      } finally {
        await client.close();
      }
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
      const compression =
        flags.layerCompression !== undefined ? (await import('../../lib/layer/index.js')).parseLayerCompression(flags.layerCompression) : undefined;
      const client = clientFor(flags, dest.registry);
      void client.warmUp(dest.registry);
      const push = (store: LayoutStore, descriptor: Descriptor): Promise<PushedImage> =>
        withAbort((signal) => pushImage(client, store, descriptor, dest, { signal, ...(flags.quiet ? {} : { onProgress: progressPrinter() }) }));
      try {
        const pushed = compression
          ? // The recompressed copy is not named: the lease keeps a concurrent gc off it until it is pushed.
            await withLease(async (store) => {
              const found = await resolveLocal(store, src);
              if (!found) throw notInStore(src);
              const { recompressImage } = await import('../../lib/image/index.js');
              const r = await withAbort((signal) => recompressImage(store, found.descriptor, compression, { signal }));
              return push(store, r.descriptor);
            })
          : await (async () => {
              const store = await openStore(homePaths());
              const found = await resolveLocal(store, src);
              if (!found) throw notInStore(src);
              return push(store, found.descriptor);
            })();
        process.stdout.write(flags.quiet ? `${pushed.digest}\n` : `pushed ${formatReference(dest)}@${pushed.digest}\n`);
      } finally {
        await client.close();
      }
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
          registry: (registry) => clientFor(flags, registry),
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
      const { parseArchiveFormat, saveImageArchive } = await import('../../lib/image/index.js');
      const format = parseArchiveFormat(flags.format);
      const store = await openStore(homePaths());
      const images: ArchiveImage[] = [];
      for (const r of refs) {
        const found = await resolveLocal(store, r);
        if (!found) throw notInStore(r);
        images.push(found);
      }
      const file = resolvePath(flags.output);
      const res = await withAbort((signal) => saveImageArchive(store, images, file, { format, signal }));
      process.stdout.write(`saved ${images.map((i) => i.name).join(', ')} to ${file} (${format}, ${res.blobs} blobs, ${formatSize(res.bytes)})\n`);
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
      const name = flags.name !== undefined ? formatReference(parseReference(flags.name)) : undefined;
      const { loadImageArchive } = await import('../../lib/image/index.js');
      const res = await withLease((store) =>
        withAbort((signal) =>
          loadImageArchive(store, resolvePath(flags.input), {
            name,
            signal,
            annotations: { [KIND]: 'base' },
            ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
          }),
        ),
      );
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
      const store = await openStore(homePaths());
      const refs = (await store.listRefs()).filter((r) => flags.all || r.descriptor.annotations?.[KIND] !== 'stage');
      const rows = [];
      for (const r of refs.sort((a, b) => a.name.localeCompare(b.name))) {
        rows.push({ name: r.name, kind: kindOf(r.descriptor), digest: r.descriptor.digest, size: await imageSize(store, r.descriptor) });
      }
      if (flags.format === 'json') {
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      const lines = [['NAME', 'KIND', 'DIGEST', 'SIZE']];
      for (const r of rows) lines.push([r.name, r.kind || '-', r.digest.slice(0, 19), r.size === undefined ? '?' : formatSize(r.size)]);
      process.stdout.write(`${table(lines)}\n`);
    });
}

/** base, final, stage…; the result of an artifact or a `final: false` image is marked as not final. */
function kindOf(d: Descriptor): string {
  const a = d.annotations ?? {};
  const kind = a[KIND] ?? '';
  if (kind !== 'final' || a[TSBUILD_ANNOTATION.final] !== 'false') return kind;
  return a[TSBUILD_ANNOTATION.artifact] === 'true' ? 'artifact (not final)' : 'not final';
}

/** Compressed size of manifest + config + layers, or undefined if a blob is unreadable. */
async function imageSize(store: LayoutStore, d: Descriptor): Promise<number | undefined> {
  try {
    const m = await store.readJson<ImageManifest & ImageIndex>(d.digest);
    if (Array.isArray(m.manifests)) return d.size;
    return d.size + m.config.size + m.layers.reduce((n, l) => n + l.size, 0);
  } catch {
    return undefined;
  }
}
