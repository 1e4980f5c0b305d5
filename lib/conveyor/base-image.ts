// Base images: taken from the local store when present (--pull=missing), pulled otherwise.
import type { LayoutStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import type { EventSink } from '../events.js';
import { readStoredImage, type StoredImage } from '../image/index.js';
import { formatReference, parseReference, type Platform } from '../oci/index.js';
import { pullImage, resolveDigest, type RegistryClient } from '../registry/index.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface BaseImageOptions {
  store: LayoutStore;
  client: RegistryClient;
  pull: PullPolicy;
  platform?: Platform;
  onEvent: EventSink;
  signal?: AbortSignal;
}

const SOURCE_DIGEST = 'dev.tsbuild.source-digest';

export interface BaseImages {
  /** The base image, from the local store or pulled (per the pull policy; `fromLatest` bases follow the registry). */
  image(ref: string): Promise<StoredImage>;
  /** What the tag points to in the registry now (fromLatest); the local copy's digest with --pull=never. */
  latestDigest(ref: string): Promise<string>;
}

export function baseImageResolver(opts: BaseImageOptions): BaseImages {
  const inflight = new Map<string, Promise<StoredImage>>();
  const latest = new Map<string, Promise<string>>();
  const latestDigest = (text: string): Promise<string> => {
    const ref = parseReference(text);
    const name = formatReference(ref);
    let p = latest.get(name);
    if (!p) {
      p = (async () => {
        if (opts.pull === 'never') {
          const desc = await opts.store.resolve(name);
          if (!desc) throw notLocal(name);
          return desc.annotations?.[SOURCE_DIGEST] ?? desc.digest;
        }
        return resolveDigest(opts.client, ref, opts.signal ? { signal: opts.signal } : {});
      })();
      latest.set(name, p);
    }
    return p;
  };
  return {
    latestDigest,
    image: (text: string) => {
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

function notLocal(name: string): TsbuildError {
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `base image ${name} is not in the local store and --pull=never forbids fetching it`, {
    hint: `fetch it first with: tsbuild image pull ${name}`,
  });
}

async function resolve(name: string, ref: ReturnType<typeof parseReference>, opts: BaseImageOptions, wantDigest?: string): Promise<StoredImage> {
  if (opts.pull !== 'always') {
    const desc = await opts.store.resolve(name);
    const current = desc && (wantDigest === undefined || (desc.annotations?.[SOURCE_DIGEST] ?? desc.digest) === wantDigest);
    if (desc && current) {
      opts.onEvent({ type: 'pull.done', ref: name, digest: desc.digest, cached: true });
      return readStoredImage(opts.store, desc);
    }
    if (opts.pull === 'never') throw notLocal(name);
  }
  opts.onEvent({ type: 'pull.start', ref: name });
  const pulled = await pullImage(opts.client, ref, opts.store, {
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await opts.store.setRef(name, pulled.manifestDescriptor, {
    'dev.tsbuild.kind': 'base',
    [SOURCE_DIGEST]: pulled.indexDescriptor?.digest ?? pulled.manifestDescriptor.digest,
  });
  opts.onEvent({ type: 'pull.done', ref: name, digest: pulled.manifestDescriptor.digest, cached: false });
  return readStoredImage(opts.store, pulled.manifestDescriptor);
}
