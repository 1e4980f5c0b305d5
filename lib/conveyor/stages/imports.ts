// importsBeforeInstall … importsAfterSetup: files imported from other images (`import:`, signature =
// checksum of the imported files) and other images' names injected as env (`dependencies:`).
import type { ImportSpec, DependencySpec } from '../../config/index.js';
import { TsbuildError } from '../../errors.js';
import { writeDerivedImage, type StoredImage } from '../../image/index.js';
import { writeLayerFromEntries } from '../../layer/index.js';
import { parseReference } from '../../oci/index.js';
import { importEntries, type ImportSelection, type Ownership } from '../import-files.js';
import { importLabel, importSelection, numericOwnership, sourceImage, sourceName, withRootfs } from '../import-checksums.js';
import { resolveImagePath } from '../image-path.js';
import { resolveGroup, resolveUser } from '../image-users.js';
import type { BuildContext, PlanContext, Stage, StageName } from '../stage.js';

/** owner/group names, resolved in the image being built; an unknown one names the import that asked. */
async function importOwnership(target: string, i: ImportSpec, ctx: BuildContext): Promise<Ownership> {
  const own = numericOwnership(i);
  try {
    if (i.owner && own.uid === undefined) Object.assign(own, await resolveUser(target, i.owner));
    if (i.group && !/^\d+$/.test(i.group)) own.gid = await resolveGroup(target, i.group);
  } catch (err) {
    if (!(err instanceof TsbuildError)) throw err;
    throw new TsbuildError(err.code, `${importLabel(ctx, i)} at ${i.position.file}:${i.position.line}: ${err.message}`, {
      ...(err.hint ? { hint: err.hint } : {}),
      cause: err,
    });
  }
  return own;
}

type When = { before: 'install' | 'setup' } | { after: 'install' | 'setup' };

function matches(x: { before?: string; after?: string }, when: When): boolean {
  return 'before' in when ? x.before === when.before : x.after === when.after;
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
  const imports = (ctx: PlanContext): ImportSpec[] => ctx.image.imports.filter((i) => matches(i, when));
  const deps = (ctx: PlanContext): DependencySpec[] => ctx.image.dependencies.filter((d) => matches(d, when));
  return {
    name,
    async inputs(ctx) {
      const imps = imports(ctx);
      const ds = deps(ctx);
      if (imps.length === 0 && ds.length === 0) return undefined;
      const importInputs = [];
      for (const imp of imps) {
        const src = sourceName(imp);
        importInputs.push({
          source: src,
          stage: imp.stage ?? null,
          checksum: await ctx.importChecksum(imp),
          add: imp.add,
          to: imp.to,
          owner: imp.owner ?? null,
          group: imp.group ?? null,
        });
      }
      return {
        imports: importInputs,
        dependencies: ds.map((d) => ({ image: d.image, signature: ctx.signatureOf(d.image), ref: ctx.finalRefOf(d.image), imports: d.imports })),
      };
    },
    async build(parent, ctx) {
      let current = parent;
      const imps = imports(ctx);
      if (imps.length > 0) {
        const sources = await Promise.all(imps.map((i) => sourceImage(ctx, i)));
        // The image being built is mounted too: owner/group names are resolved in it (werf: they must
        // exist there), and so is `to`, like Docker's COPY destination (`/bin` of a usrmerged base is
        // `/usr/bin`: the layer says so, rather than replacing the symlink with a directory).
        const layer = await withRootfs(ctx, parent, 'import-target', async (target) => {
          const owners = new Map<ImportSpec, Ownership>();
          for (const i of imps) owners.set(i, await importOwnership(target, i, ctx));
          return withAllRootfs(ctx, sources, async (roots) => {
            const sels: ImportSelection[] = [];
            for (let k = 0; k < imps.length; k++) {
              const sel: ImportSelection = { ...importSelection(imps[k]!), label: importLabel(ctx, imps[k]!) };
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
              {
                compression: ctx.layerCompression,
                ...(ctx.sourceDateEpoch !== undefined ? { sourceDateEpoch: ctx.sourceDateEpoch } : {}),
                signal: ctx.signal,
              },
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
        current = await writeDerivedImage(ctx.store, current, {
          config: { ...(current.config.config ?? {}), Env: env },
          history: `tsbuild ${name}: dependencies`,
        });
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
