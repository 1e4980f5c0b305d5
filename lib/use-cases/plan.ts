// The plan use case (`tsbuild plan`, `build --dry-run`): every stage with its signature and whether
// it is stored, from the same decision building makes; nothing runs, no layer is fetched, and the
// stages repositories are asked for manifests only.
import { loadConfig } from '../config/index.js';
import { buildOrder, planLookup, planProject, type ImagePlan } from '../conveyor/index.js';
import { withGitRepoPool, type GitRepoPool } from '../git/index.js';
import { parseRepository } from '../oci/index.js';
import { LocalStagesStorage } from '../storage/index.js';
import { projectEnv, stagesRepositories, type ProjectOptions } from './project-options.js';
import { openStore } from '../content/index.js';

export type PlanOptions = ProjectOptions;

export interface PlannedStageRow {
  name: string;
  /** null while the stage waits for another image to be built. */
  signature: string | null;
  status: 'cached' | 'to-build' | 'unknown';
  reason?: string;
}

export interface PlanResult {
  project: string;
  images: Array<{ name: string; stages: PlannedStageRow[] }>;
}

export async function plan(options: PlanOptions): Promise<PlanResult> {
  if (options.repo) parseRepository(options.repo);
  return withGitRepoPool((repos) => planWith(options, repos));
}

async function planWith(options: PlanOptions, repos: GitRepoPool): Promise<PlanResult> {
  const config = await loadConfig({ ...options, repos });
  const store = await openStore(options.home);
  const env = projectEnv(config, store, options, repos);
  try {
    const repos = stagesRepositories(options, store, env.onEvent);
    const lookup = planLookup(new LocalStagesStorage(store, config.project), repos.lookup);
    const plans = await planProject(env, buildOrder(config, options.images), lookup);
    return { project: config.project, images: plans.map((p) => ({ name: p.imageName, stages: rowsOf(p) })) };
  } finally {
    await env.close();
  }
}

function rowsOf(p: ImagePlan): PlannedStageRow[] {
  const rows: PlannedStageRow[] = p.stages.map((s, i) =>
    i <= p.resumeAt
      ? { name: s.name, signature: s.signature, status: 'cached' }
      : { name: s.name, signature: s.signature, status: 'to-build', ...(s.reason ? { reason: s.reason } : {}) },
  );
  for (const name of p.unknown?.stages ?? []) rows.push({ name, signature: null, status: 'unknown', reason: p.unknown!.why });
  return rows;
}
