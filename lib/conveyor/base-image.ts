// Base images: taken from the local store when present (--pull=missing), pulled otherwise.
import type { LayoutStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import type { EventSink } from '../events.js';
import { readStoredImage, type StoredImage } from '../image/index.js';
import { formatReference, parseReference, type Platform } from '../oci/index.js';
import { pullImage, type RegistryClient } from '../registry/index.js';

export type PullPolicy = 'missing' | 'always' | 'never';

export interface BaseImageOptions {
  store: LayoutStore;
  client: RegistryClient;
  pull: PullPolicy;
  platform?: Platform;
  onEvent: EventSink;
  signal?: AbortSignal;
}

export function baseImageResolver(opts: BaseImageOptions): (ref: string) => Promise<StoredImage> {
  const inflight = new Map<string, Promise<StoredImage>>();
  return (text: string) => {
    const ref = parseReference(text);
    const name = formatReference(ref);
    let p = inflight.get(name);
    if (!p) {
      p = resolve(name, ref, opts);
      inflight.set(name, p);
    }
    return p;
  };
}

async function resolve(name: string, ref: ReturnType<typeof parseReference>, opts: BaseImageOptions): Promise<StoredImage> {
  if (opts.pull !== 'always') {
    const desc = await opts.store.resolve(name);
    if (desc) {
      opts.onEvent({ type: 'pull.done', ref: name, digest: desc.digest, cached: true });
      return readStoredImage(opts.store, desc);
    }
    if (opts.pull === 'never') {
      throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `base image ${name} is not in the local store and --pull=never forbids fetching it`, {
        hint: `fetch it first with: tsbuild image pull ${name}`,
      });
    }
  }
  opts.onEvent({ type: 'pull.start', ref: name });
  const pulled = await pullImage(opts.client, ref, opts.store, {
    ...(opts.platform ? { platform: opts.platform } : {}),
    ...(opts.signal ? { signal: opts.signal } : {}),
  });
  await opts.store.setRef(name, pulled.manifestDescriptor, { 'dev.tsbuild.kind': 'base' });
  opts.onEvent({ type: 'pull.done', ref: name, digest: pulled.manifestDescriptor.digest, cached: false });
  return readStoredImage(opts.store, pulled.manifestDescriptor);
}
