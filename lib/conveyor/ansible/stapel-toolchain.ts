// The stapel toolchain image an ansible stage runs with: the local store's tsbuild/stapel:<format>
// (made by `tsbuild stapel build`) or a mirrored one named with --stapel-image, pulled like a base
// image when it is not local. Its manifest digest is part of every ansible stage's signature.
import { TsbuildError } from '../../errors.js';
import { readStoredImage, type StoredImage } from '../../image/index.js';
import { formatReference, parseReference } from '../../oci/index.js';
import type { BuildContext, PlanContext } from '../stage.js';
import { DEFAULT_STAPEL_IMAGE } from '../../stapel/index.js';

const resolved = new WeakMap<object, Promise<StoredImage>>();
const digests = new WeakMap<object, Promise<string>>();

const HINT = 'run `tsbuild stapel build` once on this machine (a Debian host with apt), or name a mirrored toolchain with --stapel-image REGISTRY/REPO:TAG';

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

/** The toolchain's manifest digest (what signatures use), found without pulling any layer. */
export function stapelToolchainDigest(ctx: PlanContext): Promise<string> {
  return once(digests, ctx.bases, async () => {
    const text = ctx.stapelImage ?? DEFAULT_STAPEL_IMAGE;
    const name = formatReference(parseReference(text));
    const local = await ctx.store.resolve(name);
    if (local) return local.digest;
    if (ctx.stapelImage === undefined) throw notLocal(ctx, name);
    return wrap(text, () => ctx.bases.manifestDigest(text));
  });
}

export function stapelToolchain(ctx: BuildContext): Promise<StoredImage> {
  return once(resolved, ctx.bases, () => resolveToolchain(ctx));
}

function notLocal(ctx: PlanContext, name: string): TsbuildError {
  // The default name is local only: nothing to pull it from.
  return new TsbuildError('TSB_IMAGE_NOT_FOUND', `image "${ctx.image.name}" has ansible instructions but the stapel toolchain ${name} is not in the local store`, { hint: HINT });
}

async function wrap<T>(text: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (!(err instanceof TsbuildError)) throw err;
    throw new TsbuildError(err.code, `stapel toolchain ${text}: ${err.message}`, { hint: err.hint ?? HINT, cause: err });
  }
}

async function resolveToolchain(ctx: BuildContext): Promise<StoredImage> {
  const text = ctx.stapelImage ?? DEFAULT_STAPEL_IMAGE;
  const name = formatReference(parseReference(text));
  const local = await ctx.store.resolve(name);
  let image: StoredImage;
  if (local) image = await readStoredImage(ctx.store, local);
  else if (ctx.stapelImage === undefined) throw notLocal(ctx, name);
  else image = await wrap(text, () => ctx.bases.image(text));
  if (image.manifest.layers.length !== 1) {
    throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `${text} is not a stapel toolchain (it has ${image.manifest.layers.length} layers, a toolchain has one)`, { hint: HINT });
  }
  return image;
}
