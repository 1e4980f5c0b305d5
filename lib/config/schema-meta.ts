// The meta document (werf-spec §3.2): project, configVersion, build (cacheVersion, platform, staged,
// imageSpec) and the keys not about building (deploy, cleanup, gitWorktree): validated, kept, unused.
import type { MapReader } from './node-reader.js';
import { readPlatforms } from './schema-image-spec.js';
import type { MetaImageSpec, MetaSpec } from './types.js';

const META_KEYS = ['configVersion', 'project', 'build', 'deploy', 'cleanup', 'gitWorktree'] as const;
const PROJECT_RE = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

export function readMeta(meta: MapReader): { project: string; spec: MetaSpec } {
  meta.where = 'meta section';
  meta.checkKeys(META_KEYS);
  const cv = meta.str('configVersion');
  if (cv !== '1') meta.fail(`'configVersion: 1' field required (found "${cv ?? ''}")`, 'configVersion');
  const project = process.env.WERF_PROJECT_NAME || meta.requireStr('project');
  if (!PROJECT_RE.test(project) || project.length > 50) {
    meta.fail(`project name "${project}" is invalid: use lower-case letters, digits and inner dashes, at most 50 characters`, 'project');
  }
  const spec: MetaSpec = { build: { platform: [], staged: false }, gitWorktree: {} };
  const build = meta.map('build', 'meta build');
  if (build) {
    build.checkKeys(['cacheVersion', 'platform', 'imageSpec', 'staged']);
    const cacheVersion = build.str('cacheVersion');
    if (cacheVersion !== undefined) spec.build.cacheVersion = cacheVersion;
    spec.build.platform = readPlatforms(build);
    spec.build.staged = build.bool('staged') ?? false;
    const imageSpec = readMetaImageSpec(build);
    if (imageSpec) spec.build.imageSpec = imageSpec;
  }
  const gw = meta.map('gitWorktree', 'meta gitWorktree');
  if (gw) {
    gw.checkKeys(['forceShallowClone', 'allowUnshallow', 'allowFetchOriginBranchesAndTags']);
    for (const k of ['forceShallowClone', 'allowUnshallow', 'allowFetchOriginBranchesAndTags'] as const) {
      const v = gw.bool(k);
      if (v !== undefined) spec.gitWorktree[k] = v;
    }
  }
  const deploy = meta.map('deploy', 'meta deploy');
  if (deploy) {
    deploy.checkKeys(['helmChartConfig', 'helmChartDir', 'helmRelease', 'helmReleaseSlug', 'namespace', 'namespaceSlug']);
    deploy.map('helmChartConfig', 'meta deploy.helmChartConfig')?.checkKeys(['appVersion']);
    for (const k of ['helmReleaseSlug', 'namespaceSlug']) deploy.bool(k);
    spec.deploy = meta.json('deploy') as Record<string, unknown>;
  }
  const cleanup = meta.map('cleanup', 'meta cleanup');
  if (cleanup) {
    cleanup.checkKeys([
      'disable',
      'disableKubernetesBasedPolicy',
      'disableGitHistoryBasedPolicy',
      'disableBuiltWithinLastNHoursPolicy',
      'keepPolicies',
      'keepImagesBuiltWithinLastNHours',
    ]);
    for (const k of ['disable', 'disableKubernetesBasedPolicy', 'disableGitHistoryBasedPolicy', 'disableBuiltWithinLastNHoursPolicy']) cleanup.bool(k);
    cleanup.int('keepImagesBuiltWithinLastNHours');
    for (const policy of cleanup.mapList('keepPolicies', (i) => `meta cleanup.keepPolicies[${i}]`)) {
      policy.checkKeys(['references', 'imagesPerReference']);
      const refs = policy.map('references', `${policy.where}.references`);
      if (refs) {
        refs.checkKeys(['branch', 'tag', 'limit']);
        if (refs.has('branch') && refs.has('tag')) refs.fail(`${refs.where}: specify only \`branch\` or \`tag\``, 'tag');
        const limit = refs.map('limit', `${refs.where}.limit`);
        limit?.checkKeys(['last', 'in', 'operator']);
        checkOperator(limit);
      }
      const per = policy.map('imagesPerReference', `${policy.where}.imagesPerReference`);
      per?.checkKeys(['last', 'in', 'operator']);
      checkOperator(per);
    }
    spec.cleanup = meta.json('cleanup') as Record<string, unknown>;
  }
  return { project, spec };
}

function checkOperator(m: MapReader | undefined): void {
  const op = m?.str('operator');
  if (m && op !== undefined && op !== 'And' && op !== 'Or') m.fail(`${m.where}: "operator" must be And or Or (got "${op}")`, 'operator');
  m?.int('last');
}

function readMetaImageSpec(build: MapReader): MetaImageSpec | undefined {
  const m = build.map('imageSpec', 'meta build.imageSpec');
  if (!m) return undefined;
  m.checkKeys(['author', 'clearHistory', 'config']);
  const c = m.map('config', 'meta build.imageSpec.config');
  c?.checkKeys(['labels', 'removeLabels', 'keepEssentialWerfLabels', 'clearWerfLabels']);
  const author = m.str('author');
  return {
    ...(author !== undefined ? { author } : {}),
    clearHistory: m.bool('clearHistory') ?? false,
    config: {
      labels: c?.strMap('labels') ?? {},
      removeLabels: c?.strictList('removeLabels') ?? [],
      keepEssentialWerfLabels: c?.bool('keepEssentialWerfLabels') ?? false,
      clearWerfLabels: c?.bool('clearWerfLabels') ?? false,
    },
  };
}
