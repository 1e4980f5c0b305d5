// The bundle-save use case: what the current commit builds (or, with --dev, the working tree), as
// the plan names it: each image's final stage by signature and every stored stage it was built on.
// Never "whatever the last build left": after a --dev build, a bundle of the commit is refused
// (naming what is missing and that --dev would bundle the working tree) instead of holding dev stages.
import { resolve as resolvePath } from 'node:path';
import { openStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { saveBundle, selectBundle, type BundleSelection, type SaveBundleResult } from '../storage/index.js';
import { plan, type PlanOptions, type PlanResult } from './plan.js';

export interface BundleSaveOptions extends PlanOptions {
  output: string;
}

export interface BundleSaveResult extends SaveBundleResult {
  project: string;
  file: string;
  selection: BundleSelection;
}

/** "app: install 3f2a12c4b5d6, setup 9c1b…" for every image whose stages are not all stored. */
function missingStages(planned: PlanResult): string[] {
  const out: string[] = [];
  for (const img of planned.images) {
    const last = img.stages[img.stages.length - 1];
    if (!last || last.status === 'cached') continue;
    const missing = img.stages.filter((s) => s.status !== 'cached');
    const waits = missing.find((s) => s.status === 'unknown');
    const list = missing.filter((s) => s.signature).map((s) => `${s.name} ${s.signature!.slice(0, 12)}`);
    out.push(`${img.name || '~'}: ${[...list, ...(waits ? [`the rest ${waits.reason ?? 'waits for another image'}`] : [])].join(', ')}`);
  }
  return out;
}

export async function bundleSave(options: BundleSaveOptions): Promise<BundleSaveResult> {
  const planned = await plan(options).catch((err: unknown) => {
    if (!(err instanceof TsbuildError) || err.code !== 'TSB_GIT_UNCOMMITTED') throw err;
    // Typically right after `build --dev`: the stored stages are the working tree's, not the commit's.
    throw new TsbuildError(err.code, `bundle save bundles the current commit, but the ${err.message.replace(/^uncommitted/, 'working tree has uncommitted')}`, {
      hint: 'bundle what the working tree builds (after `build --dev`) with `tsbuild bundle save --dev`, or commit, `tsbuild build` and save again',
      cause: err,
      details: err.details,
    });
  });
  const missing = missingStages(planned);
  if (missing.length > 0) {
    const what = options.dev ? 'the working tree (--dev)' : 'the current commit';
    let hint = `run \`tsbuild build${options.dev ? ' --dev' : ''}\` first (without --repo, or after it, so the stages are local), then save again`;
    if (!options.dev && missingStages(await plan({ ...options, dev: true })).length === 0) {
      hint = `the stored stages were built from the working tree: \`tsbuild bundle save --dev\` bundles those; ${hint}`;
    }
    throw new TsbuildError(
      'TSB_STORE_NOT_FOUND',
      `${what} of ${planned.project} is not built; these stages are not stored:\n${missing.map((m) => `  ${m}`).join('\n')}`,
      {
        hint,
        details: { missing },
      },
    );
  }
  const store = await openStore(options.home);
  const finals = planned.images.map((i) => ({ imageName: i.name, signature: i.stages[i.stages.length - 1]!.signature! }));
  const selection = await selectBundle(store, planned.project, finals);
  const file = resolvePath(options.output);
  const res = await saveBundle(store, selection, file, options.signal ? { signal: options.signal } : {});
  return { ...res, project: planned.project, file, selection };
}
