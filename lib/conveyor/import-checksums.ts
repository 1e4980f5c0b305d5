// The content checksum of what an `import:` takes from a source stage (DESIGN decision 7: identical
// output does not cascade). Building computes it on a snapshot of the source stage and records it
// in that stage's record, so planning reads it from the record (local, or a stages repository's
// manifest) and never needs a layer. A source not stored yet makes the importer "unknown until built".
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ImportSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';
import type { StoredImage } from '../image/index.js';
import { importChecksum, type ImportSelection, type Ownership } from './import-files.js';
import type { FoundStage } from './stage-lookup.js';
import { UnknownUntilBuilt, type BuildContext, type PlanContext } from './stage.js';

/** The reference of an external image an import takes files from (`import: - from: REF`), if it is one. */
export function externalSource(imp: ImportSpec): string | undefined {
  return imp.image === undefined && imp.artifact === undefined ? imp.from : undefined;
}

/** The image of this config an import takes files from, or the external image's reference. */
export function sourceName(imp: ImportSpec): string {
  const n = imp.image ?? imp.artifact ?? imp.from;
  if (n === undefined)
    throw new TsbuildError('TSB_CONFIG_SCHEMA', 'an import names no image, artifact or from', { hint: 'add `image:`, `artifact:` or `from:` to the import' });
  return n;
}

/** `image "app", import of artifact "builder"` (errors name both images). */
export function importLabel(ctx: { image: { name: string } }, imp: ImportSpec): string {
  const ext = externalSource(imp);
  if (ext !== undefined) return `image "${ctx.image.name}", import from ${ext}`;
  return `image "${ctx.image.name}", import of ${imp.image !== undefined ? 'image' : 'artifact'} "${sourceName(imp)}"${imp.stage ? ` (stage ${imp.stage})` : ''}`;
}

/** The image whose files an import takes: a stage of another image of the config, or an external image. */
export async function sourceImage(ctx: BuildContext, imp: ImportSpec): Promise<StoredImage> {
  const ext = externalSource(imp);
  if (ext !== undefined) return ctx.bases.image(ext);
  return (await ctx.stageOf(sourceName(imp), imp.stage)).image;
}

export function importSelection(imp: ImportSpec): ImportSelection {
  return { add: imp.add, to: imp.to, includePaths: imp.includePaths, excludePaths: imp.excludePaths };
}

/** Numeric owner/group as given; names are resolved when the stage is built (against the parent). */
export function numericOwnership(imp: ImportSpec): Ownership {
  const own: Ownership = {};
  if (imp.owner !== undefined && /^\d+$/.test(imp.owner)) own.uid = Number(imp.owner);
  if (imp.group !== undefined && /^\d+$/.test(imp.group)) own.gid = Number(imp.group);
  return own;
}

/**
 * Version of how a selection picks files (import-files.ts). Recorded and cached checksums are found
 * by a key that includes it, so a change of the picking is not answered with a checksum of the old
 * picking: 2 = excludePaths below a matched directory are honoured (1 took such a directory whole).
 */
const SELECTION_VERSION = 2;

/** What the checksum of one import depends on besides the source's content. */
function importKey(imp: ImportSpec): string {
  return createHash('sha256')
    .update(JSON.stringify([SELECTION_VERSION, importSelection(imp), numericOwnership(imp)]))
    .digest('hex');
}

/** Run `fn` on a throwaway snapshot of `image` (its root filesystem, read through overlayfs). */
export async function withRootfs<T>(ctx: BuildContext, image: StoredImage, label: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const key = `${ctx.project}-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const snap = await ctx.snapshotter.prepare(key, ctx.layers(image), ctx.signal ? { signal: ctx.signal } : {});
  try {
    return await fn(snap.rootfs);
  } finally {
    await ctx.snapshotter.remove(key);
  }
}

/** A small on-disk cache by source manifest digest + selection (the same content gives the same checksum). */
function cacheFile(cacheDir: string, digest: string, imp: ImportSpec): string {
  const key = createHash('sha256')
    .update(JSON.stringify([SELECTION_VERSION, digest, importSelection(imp), numericOwnership(imp)]))
    .digest('hex');
  return join(cacheDir, 'import-checksums', key);
}

async function readCached(cacheDir: string, digest: string, imp: ImportSpec): Promise<string | undefined> {
  const hit = await readFile(cacheFile(cacheDir, digest, imp), 'utf8').catch(() => undefined);
  return hit?.trim() || undefined;
}

async function writeCached(cacheDir: string, digest: string, imp: ImportSpec, checksum: string): Promise<void> {
  await mkdir(join(cacheDir, 'import-checksums'), { recursive: true });
  await writeFile(cacheFile(cacheDir, digest, imp), checksum);
}

/** The checksum as known without touching layers: recorded on the stored source stage, or cached. */
export async function knownImportChecksum(cacheDir: string, source: FoundStage, imp: ImportSpec): Promise<string | undefined> {
  const recorded = source.record.importChecksums?.[importKey(imp)];
  if (recorded) return recorded;
  return readCached(cacheDir, source.digest, imp);
}

export interface ImportSourceOf {
  /** The source image's name, and the signature of the stage `imp` takes files from (may throw UnknownUntilBuilt). */
  source(imp: ImportSpec): { imageName: string; signature: string };
  /** The stored source stage (local first, then the stages repositories), or undefined. */
  find(signature: string): Promise<FoundStage | undefined>;
}

/** Planning: the recorded checksum, or "unknown until the source is built". */
export async function planImportChecksum(ctx: PlanContext, sources: ImportSourceOf, imp: ImportSpec): Promise<string> {
  const cacheDir = ctx.cacheDir;
  const ext = externalSource(imp);
  if (ext !== undefined) {
    // An external image: its files' checksum is known once a build pulled it (cached by digest).
    const why = `unknown until ${ext} is pulled by a build`;
    let digest: string;
    try {
      digest = await ctx.bases.manifestDigest(ext);
    } catch (err) {
      if (err instanceof TsbuildError && err.kind !== 'INTERNAL') throw new UnknownUntilBuilt(ext, `${why} (${err.message})`);
      throw err;
    }
    const cached = await readCached(cacheDir, digest, imp);
    if (cached) return cached;
    throw new UnknownUntilBuilt(ext, why);
  }
  const { imageName, signature } = sources.source(imp);
  const found = await sources.find(signature);
  if (!found) throw new UnknownUntilBuilt(imageName);
  const known = await knownImportChecksum(cacheDir, found, imp);
  if (known) return known;
  throw new UnknownUntilBuilt(imageName, `unknown until image "${imageName || '~'}" is built again (its stored stage records no checksum for this import)`);
}

/** Building: the recorded checksum, else computed on a snapshot of the source stage (and cached). */
export async function buildImportChecksum(ctx: BuildContext, imp: ImportSpec): Promise<string> {
  const image = await sourceImage(ctx, imp);
  const cached = await readCached(ctx.cacheDir, image.descriptor.digest, imp);
  if (cached) return cached;
  return computeImportChecksum(ctx, image, imp, importLabel(ctx, imp));
}

/** Computed from the stage image's files (its layers are fetched when needed), then cached. */
async function computeImportChecksum(ctx: BuildContext, image: StoredImage, imp: ImportSpec, label: string): Promise<string> {
  const { checksum } = await withRootfs(ctx, image, 'import-sum', (rootfs) =>
    importChecksum(rootfs, { ...importSelection(imp), label }, numericOwnership(imp)),
  );
  await writeCached(ctx.cacheDir, image.descriptor.digest, imp, checksum);
  return checksum;
}

/**
 * Checksums of the imports other images take from `image` (a stage just built): kept in its record.
 * An import that cannot be computed (a path the source lacks) is left out: the importing image's
 * build reports it, naming that image.
 */
export async function exportChecksums(ctx: BuildContext, image: StoredImage, exports: readonly ImportSpec[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const imp of exports) {
    const key = importKey(imp);
    if (out[key] !== undefined) continue;
    const sum =
      (await readCached(ctx.cacheDir, image.descriptor.digest, imp)) ??
      (await computeImportChecksum(ctx, image, imp, 'import').catch((err: unknown) => {
        if (err instanceof TsbuildError && err.kind !== 'INTERNAL' && err.code !== 'TSB_ABORTED') return undefined;
        throw err;
      }));
    if (sum !== undefined) out[key] = sum;
  }
  return out;
}
