// The stapel toolchain image an ansible stage runs with: the local store's tsbuild/stapel:<format>
// (made by `tsbuild stapel build`, or by the first build that needs it) or a mirrored one named with
// --stapel-image, pulled like a base image when it is not local. Its manifest digest is part of every
// ansible stage's signature.
import { join } from 'node:path';
import { TsbuildError } from '../../errors.js';
import { readStoredImage, type StoredImage } from '../../image/index.js';
import { withFileLock } from '../../internal/file-lock.js';
import { formatReference, parseReference } from '../../oci/index.js';
import type { BuildContext, PlanContext } from '../stage.js';
import { DEFAULT_STAPEL_IMAGE, buildStapel } from '../../stapel/index.js';

const resolved = new WeakMap<object, Promise<StoredImage>>();
const digests = new WeakMap<object, Promise<string>>();

/** Both ways to a toolchain, for every error that ends without one. */
const STAPEL_WAYS =
  'either let tsbuild make it from Debian packages (needs apt-get and a reachable Debian archive: the next build makes it, or run `tsbuild stapel build`), ' +
  'or use a toolchain image made elsewhere: --stapel-image REGISTRY/REPO:TAG (or TSBUILD_STAPEL_IMAGE; pushed with `tsbuild stapel build --push REF`; --registry-mirror applies to it)';

/** One resolution per build or plan (the base-image resolver is shared by every image of it). */
function once<T>(cache: WeakMap<object, Promise<T>>, key: object, make: () => Promise<T>): Promise<T> {
  let p = cache.get(key);
  if (!p) {
    p = make();
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/**
 * The toolchain's manifest digest (what signatures use), found without pulling any layer. A build
 * makes the default toolchain when it is missing; a plan reports it missing.
 */
export function stapelToolchainDigest(ctx: PlanContext): Promise<string> {
  return once(digests, ctx.bases, async () => {
    const text = ctx.stapelImage ?? DEFAULT_STAPEL_IMAGE;
    const name = formatReference(parseReference(text));
    const local = await ctx.store.resolve(name);
    if (local) return local.digest;
    if (ctx.stapelImage === undefined) return (await makeToolchain(ctx, name)).descriptor.digest;
    return wrap(text, () => ctx.bases.manifestDigest(text));
  });
}

export function stapelToolchain(ctx: BuildContext): Promise<StoredImage> {
  return once(resolved, ctx.bases, () => resolveToolchain(ctx));
}

async function wrap<T>(text: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof TsbuildError)) throw err;
    throw new TsbuildError(err.code, `stapel toolchain ${text}: ${err.message}`, { hint: err.hint ?? STAPEL_WAYS, cause: err });
  }
}

async function resolveToolchain(ctx: BuildContext): Promise<StoredImage> {
  const text = ctx.stapelImage ?? DEFAULT_STAPEL_IMAGE;
  const name = formatReference(parseReference(text));
  const local = await ctx.store.resolve(name);
  let image: StoredImage;
  if (local) image = await readStoredImage(ctx.store, local);
  else if (ctx.stapelImage === undefined) image = await makeToolchain(ctx, name);
  else image = await wrap(text, () => ctx.bases.image(text));
  if (image.manifest.layers.length !== 1) {
    throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `${text} is not a stapel toolchain (it has ${image.manifest.layers.length} layers, a toolchain has one)`, {
      hint: STAPEL_WAYS,
    });
  }
  return image;
}

/**
 * The first ansible build on a machine makes the toolchain (what `tsbuild stapel build` does), under
 * a lock so that concurrent builds make it once; the .deb files are kept for the next time. The
 * default name is local only: there is nothing to pull it from.
 */
async function makeToolchain(ctx: PlanContext, name: string): Promise<StoredImage> {
  const workDir = ctx.stapelWorkDir;
  if (workDir === undefined) {
    throw new TsbuildError(
      'TSB_IMAGE_NOT_FOUND',
      `image "${ctx.image.name}" has ansible instructions and the stapel toolchain ${name} is not stored yet, so its stages have no signature to plan with`,
      {
        hint: `\`tsbuild build\` makes it first; ${STAPEL_WAYS}`,
      },
    );
  }
  const progress = (message: string): void => ctx.onEvent({ type: 'stapel.progress', message });
  return withFileLock(
    join(ctx.cacheDir, 'stapel-build.lock'),
    async () => {
      const stored = await ctx.store.resolve(name); // made by another build while this one waited
      if (stored) return readStoredImage(ctx.store, stored);
      progress(`the ansible toolchain ${name} is not stored: making it from Debian packages (once per machine)`);
      try {
        const built = await buildStapel({
          store: ctx.store,
          debCache: join(ctx.cacheDir, 'stapel-debs'),
          tmpDir: workDir,
          name,
          onProgress: progress,
          signal: ctx.signal,
        });
        progress(`stored ${built.name}: ${built.packages.length} packages, ${built.descriptor.digest}`);
        return readStoredImage(ctx.store, built.descriptor);
      } catch (err) {
        if (!(err instanceof TsbuildError) || err.code === 'TSB_ABORTED') throw err;
        throw new TsbuildError(
          err.code,
          `image "${ctx.image.name}" has ansible instructions and the stapel toolchain ${name} is not stored; making it failed: ${err.message}`,
          {
            hint: STAPEL_WAYS,
            cause: err,
          },
        );
      }
    },
    // Making it takes minutes; a build waiting for another's is not stuck.
    { timeoutMs: 30 * 60_000, signal: ctx.signal },
  );
}
