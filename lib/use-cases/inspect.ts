// The inspect use case (`tsbuild image inspect`): manifest digest, config summary and layers of an
// image, from the local store (a name as stored, or a normalised reference) or else the registry.
import { openStore, resolveLocal, type LayoutStore } from '../content/index.js';
import type { Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';
import type { HomePaths } from '../home.js';
import {
  MediaType,
  formatPlatform,
  formatReference,
  hostPlatform,
  isIndexMediaType,
  parseReference,
  platformMatches,
  withDigest,
  CONFIG_LIMIT,
  type Descriptor,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  type Reference,
} from '../oci/index.js';
import { fetchBlobBytes, getManifest, selectPlatform, type RegistryClient } from '../registry/index.js';

export interface InspectOptions {
  home: HomePaths;
  /** A name in the local store or an image reference. */
  ref: string;
  platform?: Platform;
  /** Ask the registry even if the image is in the local store. */
  remote?: boolean;
  /** Asked only when the image is not local (or with `remote`). */
  registry(registry: string): RegistryClient;
  signal?: AbortSignal | undefined;
}

export async function inspectImage(options: InspectOptions): Promise<Record<string, unknown>> {
  const store = await openStore(options.home);
  const local = options.remote ? undefined : await resolveLocal(store, options.ref);
  if (local) return inspectLocal(store, local.name, local.descriptor, options.platform);
  const client = options.registry(parseReference(options.ref).registry);
  try {
    return await inspectRemote(options.ref, client, options.platform, options.signal);
  } finally {
    await client.close();
  }
}

function summary(
  name: string,
  source: 'local' | 'remote',
  desc: Descriptor,
  manifest: ImageManifest,
  config: ImageConfig,
  index?: { descriptor: Descriptor; document: ImageIndex },
): Record<string, unknown> {
  const c = config.config ?? {};
  return {
    name,
    source,
    digest: desc.digest,
    mediaType: desc.mediaType,
    size: desc.size,
    ...(index
      ? {
          index: {
            digest: index.descriptor.digest,
            mediaType: index.descriptor.mediaType,
            platforms: index.document.manifests.filter((m) => m.platform).map((m) => formatPlatform(m.platform!)),
          },
        }
      : {}),
    platform: formatPlatform({ os: config.os, architecture: config.architecture, ...(config.variant ? { variant: config.variant } : {}) }),
    config: {
      digest: manifest.config.digest,
      mediaType: manifest.config.mediaType,
      created: config.created,
      user: c.User,
      env: c.Env,
      entrypoint: c.Entrypoint,
      cmd: c.Cmd,
      workingDir: c.WorkingDir,
      exposedPorts: c.ExposedPorts ? Object.keys(c.ExposedPorts) : undefined,
      volumes: c.Volumes ? Object.keys(c.Volumes) : undefined,
      labels: c.Labels,
      stopSignal: c.StopSignal,
    },
    layers: manifest.layers.map((l, i) => ({ digest: l.digest, mediaType: l.mediaType, size: l.size, diffId: config.rootfs.diff_ids[i] })),
    totalSize: desc.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0),
    ...(manifest.annotations ? { annotations: manifest.annotations } : {}),
  };
}

async function inspectLocal(store: LayoutStore, name: string, desc: Descriptor, platform: Platform | undefined): Promise<Record<string, unknown>> {
  let index: { descriptor: Descriptor; document: ImageIndex } | undefined;
  let d = desc;
  if (isIndexMediaType(desc.mediaType)) {
    const document = await store.readJson<ImageIndex>(desc.digest);
    index = { descriptor: desc, document };
    const want = platform ?? hostPlatform();
    const chosen = document.manifests.find((m) => platformMatches(want, m.platform));
    if (!chosen || !(await store.has(chosen.digest))) {
      throw new TsbuildError('TSB_IMAGE_NO_PLATFORM', `${name}: no ${formatPlatform(want)} image of this index is in the local store`, {
        hint: 'choose another with --platform',
      });
    }
    d = chosen;
  }
  const manifest = await store.readJson<ImageManifest>(d.digest);
  const config = await store.readJson<ImageConfig>(manifest.config.digest, CONFIG_LIMIT);
  return summary(name, 'local', d, manifest, config, index);
}

async function inspectRemote(
  text: string,
  client: RegistryClient,
  platform: Platform | undefined,
  signal: AbortSignal | undefined,
): Promise<Record<string, unknown>> {
  const ref: Reference = parseReference(text);
  const opts = signal ? { signal } : {};
  let fetched = await getManifest(client, ref, opts);
  let index: { descriptor: Descriptor; document: ImageIndex } | undefined;
  if (isIndexMediaType(fetched.descriptor.mediaType)) {
    const document = fetched.document as ImageIndex;
    index = { descriptor: fetched.descriptor, document };
    const chosen = selectPlatform(document, platform ?? hostPlatform(), formatReference(ref));
    fetched = await getManifest(client, withDigest(ref, chosen.digest as Digest), opts);
  }
  const manifest = fetched.document as ImageManifest;
  if (manifest.config.mediaType !== MediaType.OciConfig && manifest.config.mediaType !== MediaType.DockerConfig) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${formatReference(ref)}: config media type ${manifest.config.mediaType} is not an image config`);
  }
  const config = JSON.parse((await fetchBlobBytes(client, ref, manifest.config, CONFIG_LIMIT, opts)).toString('utf8')) as ImageConfig;
  return summary(formatReference(ref), 'remote', fetched.descriptor, manifest, config, index);
}
