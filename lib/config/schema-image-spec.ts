// werf v2 image keys beyond stages (werf-spec §3.3, §3.7): imageSpec, secrets, platform, and the
// secret sources shared with git basicAuth.
import type { MapReader } from './node-reader.js';
import type { ImageConfigSpec, MetaImageSpec, SecretSourceSpec, SecretSpec } from './types.js';

const PLATFORM_RE = /^[a-z0-9_]+\/[a-z0-9_]+(?:\/[a-z0-9_.]+)?$/;

/** `platform: [linux/amd64, linux/arm64/v8]` */
export function readPlatforms(m: MapReader): string[] {
  const list = m.strictList('platform');
  for (const p of list) {
    if (!PLATFORM_RE.test(p)) m.fail(`${m.where}: invalid platform "${p}": expected os/arch or os/arch/variant, e.g. linux/amd64`, 'platform');
  }
  return list;
}

/** `{env: NAME}` | `{src: PATH}` | `{value: TEXT}`: exactly one (werf: "secret type could be ONLY `env`, `src` or `value`"). */
export function readSecretSource(m: MapReader, extraKeys: readonly string[] = []): SecretSourceSpec {
  m.checkKeys(['env', 'src', 'value', ...extraKeys]);
  const kinds = (['env', 'src', 'value'] as const).filter((k) => (m.str(k) ?? '') !== '');
  if (kinds.length !== 1) m.fail(`${m.where}: secret type could be ONLY \`env\`, \`src\` or \`value\` (exactly one)`, kinds[1]);
  const kind = kinds[0]!;
  return { [kind]: m.str(kind)! };
}

export function readSecrets(r: MapReader): SecretSpec[] {
  const ids = new Set<string>();
  return r
    .mapList('secrets', (i) => `${r.where} secrets[${i}]`)
    .map((m) => {
      const source = readSecretSource(m, ['id']);
      let id = m.str('id') ?? '';
      if (id === '') {
        // werf's defaults: an env secret is named after the variable, a file after its basename.
        if (source.env !== undefined) id = source.env;
        else if (source.src !== undefined) id = source.src.replace(/\/+$/, '').split('/').pop() ?? '';
        else m.fail(`${m.where}: type value should be used with id parameter`, 'value');
      }
      if (!/^[A-Za-z0-9_.-]+$/.test(id)) m.fail(`${m.where}: secret id "${id}" must be a plain file name (letters, digits, . _ -)`, 'id');
      if (ids.has(id)) m.fail(`${m.where}: duplicate secret id "${id}"`, 'id');
      ids.add(id);
      return { id, ...source };
    });
}

const CONFIG_KEYS = [
  'user',
  'cmd',
  'entrypoint',
  'workingDir',
  'stopSignal',
  'env',
  'expose',
  'volumes',
  'labels',
  'healthcheck',
  'removeEnv',
  'removeLabels',
  'removeVolumes',
  'clearCmd',
  'clearEntrypoint',
  'clearUser',
  'clearWorkingDir',
  'keepEssentialWerfLabels',
  'clearWerfLabels',
];

export function readImageSpec(r: MapReader): ImageConfigSpec | undefined {
  const m = r.map('imageSpec', `${r.where} imageSpec`);
  if (!m) return undefined;
  m.checkKeys(['author', 'clearHistory', 'config']);
  const c = m.map('config', `${m.where}.config`);
  c?.checkKeys(CONFIG_KEYS);
  const spec: ImageConfigSpec = {
    clearHistory: m.bool('clearHistory') ?? false,
    config: {
      env: c?.strMap('env') ?? {},
      expose: c?.strictList('expose') ?? [],
      volumes: c?.strictList('volumes') ?? [],
      labels: c?.strMap('labels') ?? {},
      removeEnv: c?.strictList('removeEnv') ?? [],
      removeLabels: c?.strictList('removeLabels') ?? [],
      removeVolumes: c?.strictList('removeVolumes') ?? [],
      clearCmd: c?.bool('clearCmd') ?? false,
      clearEntrypoint: c?.bool('clearEntrypoint') ?? false,
      clearUser: c?.bool('clearUser') ?? false,
      clearWorkingDir: c?.bool('clearWorkingDir') ?? false,
      keepEssentialWerfLabels: c?.bool('keepEssentialWerfLabels') ?? false,
      clearWerfLabels: c?.bool('clearWerfLabels') ?? false,
    },
  };
  const author = m.str('author');
  if (author !== undefined) spec.author = author;
  if (c) {
    for (const k of ['user', 'workingDir', 'stopSignal'] as const) {
      const v = c.str(k);
      if (v !== undefined) spec.config[k] = v;
    }
    for (const k of ['cmd', 'entrypoint'] as const) {
      if (!c.isNull(k)) spec.config[k] = c.strictList(k);
    }
    for (const pattern of [...spec.config.removeLabels, ...spec.config.removeVolumes, ...spec.config.removeEnv]) {
      if (pattern.length > 1 && pattern.startsWith('/') && pattern.endsWith('/')) {
        try {
          new RegExp(pattern.slice(1, -1));
        } catch (err) {
          c.fail(`${c.where}: invalid regular expression ${pattern}: ${(err as Error).message}`);
        }
      }
    }
    const hc = c.map('healthcheck', `${c.where}.healthcheck`);
    if (hc) {
      hc.checkKeys(['test', 'interval', 'timeout', 'startPeriod', 'retries']);
      const test = hc.strictList('test');
      if (test.length === 0) hc.fail(`${hc.where}: "test" is required, e.g. [CMD, curl, -f, http://localhost/] or [NONE]`);
      if (!['NONE', 'CMD', 'CMD-SHELL'].includes(test[0]!)) hc.fail(`${hc.where}: "test" must start with NONE, CMD or CMD-SHELL (got "${test[0]}")`, 'test');
      spec.config.healthcheck = { test };
      for (const k of ['interval', 'timeout', 'startPeriod', 'retries'] as const) {
        const v = hc.int(k);
        if (v !== undefined) spec.config.healthcheck[k] = v;
      }
    }
  }
  return spec;
}

/**
 * A final image's effective imageSpec: meta `build.imageSpec` merged under the image's own (the image
 * wins for author/clearHistory; labels merge; removeLabels add up), then `%project%`/`%image%` in labels.
 */
export function effectiveImageSpec(
  own: ImageConfigSpec | undefined,
  meta: MetaImageSpec | undefined,
  final: boolean,
  names: { project: string; image: string },
): ImageConfigSpec | undefined {
  const useMeta = final ? meta : undefined;
  if (!own && !useMeta) return undefined;
  const base: ImageConfigSpec = own ?? {
    clearHistory: false,
    config: {
      env: {},
      expose: [],
      volumes: [],
      labels: {},
      removeEnv: [],
      removeLabels: [],
      removeVolumes: [],
      clearCmd: false,
      clearEntrypoint: false,
      clearUser: false,
      clearWorkingDir: false,
      keepEssentialWerfLabels: false,
      clearWerfLabels: false,
    },
  };
  const out: ImageConfigSpec = { ...base, config: { ...base.config } };
  if (useMeta) {
    const author = base.author ?? useMeta.author;
    if (author !== undefined) out.author = author;
    out.clearHistory = base.clearHistory || useMeta.clearHistory;
    out.config.labels = { ...useMeta.config.labels, ...base.config.labels };
    out.config.removeLabels = [...useMeta.config.removeLabels, ...base.config.removeLabels.filter((l) => !useMeta.config.removeLabels.includes(l))];
    out.config.keepEssentialWerfLabels = base.config.keepEssentialWerfLabels || useMeta.config.keepEssentialWerfLabels;
    out.config.clearWerfLabels = base.config.clearWerfLabels || useMeta.config.clearWerfLabels;
  }
  const sub = (s: string): string => s.replaceAll('%project%', names.project).replaceAll('%image%', names.image);
  out.config.labels = Object.fromEntries(Object.entries(out.config.labels).map(([k, v]) => [sub(k), sub(v)]));
  return out;
}
