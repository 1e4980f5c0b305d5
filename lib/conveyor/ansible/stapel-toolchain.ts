// The stapel toolchain image an ansible stage runs with: the local store's tsbuild/stapel:<format>
// (made by `tsbuild stapel build`) or a mirrored one named with --stapel-image, pulled like a base
// image when it is not local. Its manifest digest is part of every ansible stage's signature.
import { TsbuildError } from '../../errors.js';
import { readStoredImage, type StoredImage } from '../../image/index.js';
import { formatReference, parseReference } from '../../oci/index.js';
import type { BuildContext } from '../stage.js';
import { DEFAULT_STAPEL_IMAGE } from '../../stapel/index.js';

const resolved = new WeakMap<object, Promise<StoredImage>>();

const HINT = 'run `tsbuild stapel build` once on this machine (a Debian host with apt), or name a mirrored toolchain with --stapel-image REGISTRY/REPO:TAG';

export function stapelToolchain(ctx: BuildContext): Promise<StoredImage> {
  // One resolution per build (the base-image resolver is shared by every image of the build).
  const key = (ctx.bases as object | undefined) ?? ctx.store;
  let p = resolved.get(key);
  if (!p) {
    p = resolveToolchain(ctx);
    resolved.set(key, p);
    p.catch(() => resolved.delete(key));
  }
  return p;
}

async function resolveToolchain(ctx: BuildContext): Promise<StoredImage> {
  const text = ctx.stapelImage ?? DEFAULT_STAPEL_IMAGE;
  const name = formatReference(parseReference(text));
  let image: StoredImage;
  const local = await ctx.store.resolve(name);
  if (local) {
    image = await readStoredImage(ctx.store, local);
  } else if (ctx.stapelImage === undefined || !ctx.bases) {
    // The default name is local only: nothing to pull it from.
    throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `image "${ctx.image.name}" has ansible instructions but the stapel toolchain ${name} is not in the local store`, { hint: HINT });
  } else {
    try {
      image = await ctx.bases.image(text);
    } catch (err) {
      if (!(err instanceof TsbuildError)) throw err;
      throw new TsbuildError(err.code, `stapel toolchain ${text}: ${err.message}`, { hint: err.hint ?? HINT, cause: err });
    }
  }
  if (image.manifest.layers.length !== 1) {
    throw new TsbuildError('TSB_IMAGE_NOT_FOUND', `${text} is not a stapel toolchain (it has ${image.manifest.layers.length} layers, a toolchain has one)`, { hint: HINT });
  }
  return image;
}
