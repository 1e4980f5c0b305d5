// importsBeforeInstall … importsAfterSetup: files imported from other images (`import:`, signature =
// checksum of the imported files) and other images' names injected as env (`dependencies:`).
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import type { ImportSpec, DependencySpec } from '../../config/index.js';
import { TsbuildError } from '../../errors.js';
import { layerSources, writeDerivedImage, type StoredImage } from '../../image/index.js';
import { writeLayerFromEntries } from '../../layer/index.js';
import { parseReference } from '../../oci/index.js';
import { importChecksum, importEntries, type ImportSelection, type Ownership } from '../import-files.js';
import { resolveImagePath } from '../image-path.js';
import { resolveGroup, resolveUser } from '../image-users.js';
import type { BuildContext, Stage, StageName } from '../stage.js';

type When = { before: 'install' | 'setup' } | { after: 'install' | 'setup' };

function matches(x: { before?: string; after?: string }, when: When): boolean {
  return 'before' in when ? x.before === when.before : x.after === when.after;
}

function sourceName(imp: ImportSpec): string {
  const n = imp.image ?? imp.artifact;
  if (n === undefined) {
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `import from an external image ("from: ${imp.from}") is not supported yet`, {
      hint: 'declare the external image as an image in werf.yaml (`image: x` + `from: ...`) and import from it',
    });
  }
  return n;
}

function selection(imp: ImportSpec): ImportSelection {
  return { add: imp.add, to: imp.to, includePaths: imp.includePaths, excludePaths: imp.excludePaths };
}

/** `image "app", import of artifact "builder"` (errors name both images). */
function importLabel(ctx: BuildContext, imp: ImportSpec): string {
  return `image "${ctx.image.name}", import of ${imp.image !== undefined ? 'image' : 'artifact'} "${sourceName(imp)}"${imp.stage ? ` (stage ${imp.stage})` : ''}`;
}

/** Run `fn` on a throwaway snapshot of `image` (its root filesystem, read through overlayfs). */
async function withRootfs<T>(ctx: BuildContext, image: StoredImage, label: string, fn: (rootfs: string) => Promise<T>): Promise<T> {
  const key = `${ctx.project}-${label}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const snap = await ctx.snapshotter.prepare(key, layerSources(ctx.store, image), ctx.signal ? { signal: ctx.signal } : {});
  try {
    return await fn(snap.rootfs);
  } finally {
    await ctx.snapshotter.remove(key);
  }
}

/** Numeric owner/group as given; names are resolved when the stage is built (against the parent). */
function numericOwnership(imp: ImportSpec): Ownership {
  const own: Ownership = {};
  if (imp.owner !== undefined && /^\d+$/.test(imp.owner)) own.uid = Number(imp.owner);
  if (imp.group !== undefined && /^\d+$/.test(imp.group)) own.gid = Number(imp.group);
  return own;
}

/** Checksums depend only on the source image's content: cached on disk by manifest digest + selection. */
async function cachedChecksum(ctx: BuildContext, source: StoredImage, imp: ImportSpec, name: string): Promise<string> {
  const key = createHash('sha256').update(JSON.stringify([source.descriptor.digest, selection(imp), numericOwnership(imp)])).digest('hex');
  const file = join(ctx.cacheDir, 'import-checksums', key);
  const hit = await readFile(file, 'utf8').catch(() => undefined);
  if (hit) return hit.trim();
  const { checksum } = await withRootfs(ctx, source, `import-${name}`, (rootfs) =>
    importChecksum(rootfs, { ...selection(imp), label: importLabel(ctx, imp) }, numericOwnership(imp)),
  );
  await mkdir(join(ctx.cacheDir, 'import-checksums'), { recursive: true });
  await writeFile(file, checksum);
  return checksum;
}

function dependencyValue(type: string, ref: string, image: StoredImage): string {
  const r = parseReference(ref);
  switch (type) {
    case 'ImageName':
      return ref;
    case 'ImageTag':
      return r.tag ?? 'latest';
    case 'ImageRepo':
      return `${r.registry}/${r.repository}`;
    case 'ImageID':
      return image.manifest.config.digest;
    case 'ImageDigest':
      return image.descriptor.digest;
    default:
      throw new TsbuildError('TSB_CONFIG_SCHEMA', `dependencies: unknown import type "${type}"`);
  }
}

export function importsStage(name: StageName, when: When): Stage {
  const imports = (ctx: BuildContext): ImportSpec[] => ctx.image.imports.filter((i) => matches(i, when));
  const deps = (ctx: BuildContext): DependencySpec[] => ctx.image.dependencies.filter((d) => matches(d, when));
  return {
    name,
    async inputs(ctx) {
      const imps = imports(ctx);
      const ds = deps(ctx);
      if (imps.length === 0 && ds.length === 0) return undefined;
      const importInputs = [];
      for (const imp of imps) {
        const src = sourceName(imp);
        const { image } = await ctx.stageOf(src, imp.stage);
        importInputs.push({
          source: src,
          stage: imp.stage ?? null,
          checksum: await cachedChecksum(ctx, image, imp, src),
          add: imp.add,
          to: imp.to,
          owner: imp.owner ?? null,
          group: imp.group ?? null,
        });
      }
      return {
        imports: importInputs,
        dependencies: ds.map((d) => ({ image: d.image, signature: ctx.finalSignatureOf(d.image), ref: ctx.finalRefOf(d.image), imports: d.imports })),
      };
    },
    async build(parent, ctx) {
      if (!parent) throw new TsbuildError('TSB_INTERNAL', `${name} built without a parent stage`);
      let current = parent;
      const imps = imports(ctx);
      if (imps.length > 0) {
        const sources = await Promise.all(imps.map(async (i) => (await ctx.stageOf(sourceName(i), i.stage)).image));
        // The image being built is mounted too: owner/group names are resolved in it (werf: they must
        // exist there), and so is `to`, like Docker's COPY destination (`/bin` of a usrmerged base is
        // `/usr/bin`: the layer says so, rather than replacing the symlink with a directory).
        const layer = await withRootfs(ctx, parent, 'import-target', async (target) => {
          const owners = new Map<ImportSpec, Ownership>();
          for (const i of imps) {
            const own = numericOwnership(i);
            if (i.owner && own.uid === undefined) Object.assign(own, await resolveUser(target, i.owner));
            if (i.group && !/^\d+$/.test(i.group)) own.gid = await resolveGroup(target, i.group);
            owners.set(i, own);
          }
          return withAllRootfs(ctx, sources, async (roots) => {
            const sels: ImportSelection[] = [];
            for (let k = 0; k < imps.length; k++) {
              const sel: ImportSelection = { ...selection(imps[k]!), label: importLabel(ctx, imps[k]!) };
              // A directory is copied into what `to` points at; a file becomes `to` (a symlink there is replaced).
              const source = await resolveImagePath(roots[k]!, sel.add, { followLast: true });
              sel.to = (await resolveImagePath(target, sel.to, { followLast: source.kind === 'dir' })).path;
              sels.push(sel);
            }
            return writeLayerFromEntries(
              (async function* () {
                for (let k = 0; k < imps.length; k++) yield* importEntries(roots[k]!, sels[k]!, owners.get(imps[k]!)!);
              })(),
              ctx.store,
              { compression: ctx.layerCompression, ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) },
            );
          });
        });
        current = await writeDerivedImage(ctx.store, current, {
          layer: { descriptor: layer.descriptor, diffId: layer.diffId },
          history: `tsbuild ${name}: ${imps.map((i) => `${sourceName(i)}:${i.add} -> ${i.to}`).join(', ')}`,
        });
      }
      const ds = deps(ctx);
      if (ds.length > 0) {
        const env = [...(current.config.config?.Env ?? [])];
        for (const d of ds) {
          const depImage = ctx.finalImageOf(d.image);
          for (const imp of d.imports) {
            const entry = `${imp.targetEnv}=${dependencyValue(imp.type, ctx.finalRefOf(d.image), depImage)}`;
            const i = env.findIndex((e) => e.startsWith(`${imp.targetEnv}=`));
            if (i >= 0) env[i] = entry;
            else env.push(entry);
          }
        }
        current = await writeDerivedImage(ctx.store, current, { config: { ...(current.config.config ?? {}), Env: env }, history: `tsbuild ${name}: dependencies` });
      }
      return current;
    },
  };
}

async function withAllRootfs<T>(ctx: BuildContext, images: StoredImage[], fn: (roots: string[]) => Promise<T>): Promise<T> {
  const roots: string[] = [];
  const go = async (k: number): Promise<T> => {
    if (k === images.length) return fn(roots);
    return withRootfs(ctx, images[k]!, `import-src-${k}`, async (r) => {
      roots.push(r);
      return go(k + 1);
    });
  };
  return go(0);
}
