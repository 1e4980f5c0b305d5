// Base images: taken from the local store when present (--pull=missing), pulled otherwise.
import type { LayoutStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { transferEvents, type EventSink } from '../events.js';
import { readStoredImage, type StoredImage } from '../image/index.js';
import {
  MediaType,
  TSBUILD_ANNOTATION,
  formatReference,
  hostPlatform,
  isIndexMediaType,
  parseReference,
  type ImageConfig,
  type ImageIndex,
  type ImageManifest,
  type Platform,
  type Reference,
} from '../oci/index.js';
import { RegistryError, getManifest, pullImage, resolveDigest, selectPlatform, type RegistryClient } from '../registry/index.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface BaseImageOptions {
  store: LayoutStore;
  client: RegistryClient;
  pull: PullPolicy;
  platform?: Platform;
  onEvent: EventSink;
  signal?: AbortSignal | undefined;
  /** --registry-mirror: where base images of a registry are fetched from (their names stay as written). */
  mirrors?: RegistryMirror[];
}

/** `docker.io=127.0.0.1:5000` or `docker.io=mirror.example/hub` (a repository prefix on the mirror). */
export interface RegistryMirror {
  registry: string;
  mirror: string;
  prefix: string;
}

export function parseRegistryMirror(text: string): RegistryMirror {
  const m = /^([^=\s/]+)=([^=\s/]+)(?:\/([^=\s]+?))?\/?$/.exec(text);
  if (!m) {
    throw new TsbuildError('TSB_USAGE', `--registry-mirror "${text}" is not REGISTRY=MIRROR[/PREFIX]`, {
      hint: 'for example --registry-mirror docker.io=127.0.0.1:5000',
    });
  }
  return { registry: m[1] === 'index.docker.io' ? 'docker.io' : m[1]!, mirror: m[2]!, prefix: m[3] ?? '' };
}

/** Where to fetch `ref` from: its mirrors in order, then the registry it names. */
function sourcesOf(ref: Reference, mirrors: RegistryMirror[] = []): Reference[] {
  const out = mirrors
    .filter((m) => m.registry === ref.registry)
    .map((m) => ({ ...ref, registry: m.mirror, repository: m.prefix ? `${m.prefix}/${ref.repository}` : ref.repository }));
  return [...out, ref];
}

/** Try each source; a mirror that lacks the image (404) passes to the next, any other failure is final. */
async function fromSources<T>(ref: Reference, mirrors: RegistryMirror[] | undefined, fn: (source: Reference) => Promise<T>): Promise<T> {
  const sources = sourcesOf(ref, mirrors);
  for (const [i, source] of sources.entries()) {
    try {
      return await fn(source);
    } catch (err) {
      const missing = (err instanceof RegistryError && err.status === 404) || (err instanceof TsbuildError && err.kind === 'NOT_FOUND');
      if (!missing || i === sources.length - 1) throw err;
    }
  }
  throw new TsbuildError('TSB_INTERNAL', 'no source to fetch from');
}

const SOURCE_DIGEST = 'dev.tsbuild.source-digest';

export interface BaseImages {
  /** The base image, from the local store or pulled (per the pull policy; `fromLatest` bases follow the registry). */
  image(ref: string): Promise<StoredImage>;
  /** What the tag points to in the registry now (fromLatest); the local copy's digest with --pull=never. */
  latestDigest(ref: string): Promise<string>;
  /**
   * The digest of the image manifest `image(ref)` would give, without pulling layers: the local copy
   * (per the pull policy) or the registry's manifest for the platform (planning asks only this).
   */
  manifestDigest(ref: string): Promise<string>;
}

/** `from: scratch` names no image to pull: the empty base of werf v2 and Docker's `FROM scratch`. */
const SCRATCH = 'scratch';

/** An image with no layers and an empty config (platform only), written to the store. */
async function scratchImage(store: LayoutStore, platform: Platform): Promise<StoredImage> {
  const config: ImageConfig = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    config: {},
    rootfs: { type: 'layers', diff_ids: [] },
    history: [],
  };
  const cfg = await store.writeJson(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: cfg.info.digest, size: cfg.info.size },
    layers: [],
  };
  const m = await store.writeJson(manifest);
  return { descriptor: { mediaType: MediaType.OciManifest, digest: m.info.digest, size: m.info.size }, manifest, config };
}

export function baseImageResolver(opts: BaseImageOptions): BaseImages {
  const inflight = new Map<string, Promise<StoredImage>>();
  const latest = new Map<string, Promise<string>>();
  const latestDigest = (text: string): Promise<string> => {
    if (text === SCRATCH) return Promise.resolve(SCRATCH);
    const ref = parseReference(text);
    const name = formatReference(ref);
    let p = latest.get(name);
    if (!p) {
      p = (async () => {
        if (opts.pull === 'never') {
          const desc = await opts.store.resolve(name);
          if (!desc) throw await notLocal(opts.store, ref);
          return desc.annotations?.[SOURCE_DIGEST] ?? desc.digest;
        }
        return offlineHint(opts.store, ref, () =>
          fromSources(ref, opts.mirrors, (source) => resolveDigest(opts.client, source, opts.signal ? { signal: opts.signal } : {})),
        );
      })();
      latest.set(name, p);
    }
    return p;
  };
  const manifestDigest = async (text: string): Promise<string> => {
    const ref = parseReference(text);
    const name = formatReference(ref);
    if (inflight.has(name)) return (await inflight.get(name)!).descriptor.digest;
    if (opts.pull !== 'always') {
      const desc = await opts.store.resolve(name);
      if (desc) return desc.digest;
      if (opts.pull === 'never') throw await notLocal(opts.store, ref);
    }
    return offlineHint(opts.store, ref, () =>
      fromSources(ref, opts.mirrors, async (source) => {
        const fetched = await getManifest(opts.client, source, opts.signal ? { signal: opts.signal } : {});
        if (!isIndexMediaType(fetched.descriptor.mediaType)) return fetched.descriptor.digest;
        return selectPlatform(fetched.document as ImageIndex, opts.platform ?? hostPlatform(), formatReference(source)).digest;
      }),
    );
  };
  return {
    latestDigest,
    manifestDigest,
    image: (text: string) => {
      if (text === SCRATCH) return scratchImage(opts.store, opts.platform ?? hostPlatform());
      const ref = parseReference(text);
      const name = formatReference(ref);
      let p = inflight.get(name);
      if (!p) {
        p = (async () => resolve(name, ref, opts, latest.has(name) ? await latest.get(name)! : undefined))();
        inflight.set(name, p);
      }
      return p;
    },
  };
}

/** Offline sites: the way in is an archive, never a pull (which needs the network --pull=never refuses). */
async function notLocal(store: LayoutStore, ref: Reference): Promise<TsbuildError> {
  const name = formatReference(ref);
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `base image ${name} is not in the local store and --pull=never forbids fetching it`, {
    hint: `put it into the store from an archive: \`tsbuild image load -i FILE\` (made with \`tsbuild image save ${name} -o FILE\` where it is stored) or \`tsbuild bundle load -i FILE\`; ${await storedFor(store, ref)}`,
  });
}

/**
 * A registry that cannot be reached at all (not a TLS or auth problem) gets the offline ways in:
 * archives, a mirror, or what the local store already holds under that repository.
 */
async function offlineHint<T>(store: LayoutStore, ref: Reference, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof RegistryError) || !err.unreachable) throw err;
    const name = formatReference(ref);
    throw new TsbuildError(err.code, `cannot reach ${ref.registry} for base image ${name}: ${err.message}`, {
      cause: err,
      hint:
        `without network: load it from an archive (\`tsbuild image load -i FILE\`, or \`tsbuild bundle load -i FILE\` for a whole project), ` +
        `fetch it from a reachable mirror (--registry-mirror ${ref.registry}=MIRROR), or build from stored images with --pull never; ${await storedFor(store, ref)}`,
    });
  }
}

/** What the local store holds under the repository of `ref` (other tags or digests of the same image). */
async function storedFor(store: LayoutStore, ref: Reference): Promise<string> {
  const repo = `${ref.registry}/${ref.repository}`;
  const names = (await store.listRefs().catch(() => []))
    .map((r) => r.name)
    .filter((n) => n.startsWith(`${repo}:`) || n.startsWith(`${repo}@`))
    .sort();
  if (names.length === 0) return `nothing is stored locally for ${repo} (see \`tsbuild image list\`)`;
  const shown = names.slice(0, 5).join(', ');
  return `stored locally for ${repo}: ${shown}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

async function resolve(name: string, ref: Reference, opts: BaseImageOptions, wantDigest?: string): Promise<StoredImage> {
  if (opts.pull !== 'always') {
    const desc = await opts.store.resolve(name);
    const current = desc && (wantDigest === undefined || (desc.annotations?.[SOURCE_DIGEST] ?? desc.digest) === wantDigest);
    if (desc && current) {
      opts.onEvent({ type: 'pull.done', ref: name, digest: desc.digest, cached: true });
      return readStoredImage(opts.store, desc);
    }
    if (opts.pull === 'never') throw await notLocal(opts.store, ref);
  }
  opts.onEvent({ type: 'pull.start', ref: name });
  const pulled = await offlineHint(opts.store, ref, () =>
    fromSources(ref, opts.mirrors, (source) =>
      pullImage(opts.client, source, opts.store, {
        ...(opts.platform ? { platform: opts.platform } : {}),
        signal: opts.signal,
        onProgress: transferEvents('pull', name, opts.onEvent),
      }),
    ),
  );
  await opts.store.setRef(name, pulled.manifestDescriptor, {
    [TSBUILD_ANNOTATION.kind]: 'base',
    [SOURCE_DIGEST]: pulled.indexDescriptor?.digest ?? pulled.manifestDescriptor.digest,
  });
  opts.onEvent({ type: 'pull.done', ref: name, digest: pulled.manifestDescriptor.digest, cached: false });
  return readStoredImage(opts.store, pulled.manifestDescriptor);
}
