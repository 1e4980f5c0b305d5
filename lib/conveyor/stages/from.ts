// from: the base image, external (as written: the tag is not resolved, like werf) or another image
// of this config (its final stage signature), plus fromCacheVersion/cacheVersion and mounts.
import type { StoredImage } from '../../image/index.js';
import type { BaseStage, BuildContext, PlanContext } from '../stage.js';

function baseImageName(ctx: PlanContext): string | undefined {
  const img = ctx.image;
  if (img.fromImage) return img.fromImage;
  if (img.fromArtifact) return img.fromArtifact;
  // werf v2: `from` naming another image of this file means that image (an image may not name itself).
  if (img.from !== undefined && img.from !== img.name && ctx.internalImages.has(img.from)) return img.from;
  return undefined;
}

export const fromStage: BaseStage = {
  name: 'from',
  async inputs(ctx) {
    const img = ctx.image;
    const internal = baseImageName(ctx);
    const base = internal !== undefined ? { image: internal, signature: ctx.signatureOf(internal) } : { ref: img.from ?? 'scratch' };
    return {
      base,
      // fromLatest: what the tag points to now enters the signature (werf-spec section 2.3).
      latestDigest: img.fromLatest && internal === undefined ? await ctx.bases.latestDigest(img.from!) : null,
      fromCacheVersion: img.fromCacheVersion ?? null,
      cacheVersion: img.cacheVersion ?? null,
      mounts: img.mounts.map((m) => ({ from: m.from ?? null, fromPath: m.fromPath ?? null, to: m.to })),
    };
  },
  async build(ctx: BuildContext): Promise<StoredImage> {
    const internal = baseImageName(ctx);
    if (internal !== undefined) return ctx.finalImageOf(internal);
    return ctx.bases.image(ctx.image.from!);
  },
};
