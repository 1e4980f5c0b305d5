// Validate werf.yaml documents (werf-spec §3) and normalise them into the typed WerfConfig.
import { posix } from 'node:path';
import { ConfigError } from '../errors.js';
import { MapReader } from './node-reader.js';
import {
  USER_STAGES,
  type DependencySpec,
  type DockerSpec,
  type GitMappingSpec,
  type ImageSpec,
  type ImportSpec,
  type InstructionsSpec,
  type MountSpec,
  type UserStageName,
  type WerfConfig,
} from './types.js';
import type { ParsedDoc } from './yaml-docs.js';
import type { YAMLMap } from 'yaml';

const META_KEYS = ['configVersion', 'project', 'build'] as const;
/** Meta keys not about building: accepted and ignored (werf v1 configs still carry them). */
const META_IGNORED = ['deploy', 'cleanup', 'gitWorktree'] as const;
const IMAGE_KEYS = [
  'image', 'artifact', 'final', 'from', 'fromImage', 'fromArtifact', 'fromImageArtifact', 'fromLatest',
  'fromCacheVersion', 'cacheVersion', 'disableGitAfterPatch', 'git', 'shell', 'ansible', 'docker', 'imageSpec',
  'mount', 'import', 'dependencies', 'network', 'platform', 'secrets',
] as const;
const IMAGE_IGNORED = ['asLayers', 'herebyIAdmitThatFromLatestMightBreakReproducibility'] as const;
const SHELL_KEYS = [...USER_STAGES, 'cacheVersion', ...USER_STAGES.map((s) => `${s}CacheVersion`)];
const DOCKER_KEYS = ['VOLUME', 'EXPOSE', 'ENV', 'LABEL', 'ENTRYPOINT', 'CMD', 'WORKDIR', 'USER', 'HEALTHCHECK', 'exactValues'];
const GIT_KEYS = ['url', 'branch', 'tag', 'commit', 'add', 'to', 'owner', 'group', 'includePaths', 'excludePaths', 'stageDependencies', 'basicAuth', 'herebyIAdmitThatBranchMightBreakReproducibility'];
const IMPORT_KEYS = ['image', 'artifact', 'from', 'stage', 'add', 'to', 'before', 'after', 'includePaths', 'excludePaths', 'owner', 'group'];
const PROJECT_RE = /^(?:[a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

export function buildConfig(docs: ParsedDoc[], file: string, projectDir: string, rendered: string): WerfConfig {
  let meta: MapReader | undefined;
  const imageDocs: MapReader[] = [];
  for (const pd of docs) {
    if (!pd.doc.contents) continue;
    const r = new MapReader(pd, pd.doc.contents as YAMLMap<unknown, unknown>, 'document');
    if (r.has('configVersion')) {
      if (meta) r.fail('duplicate meta config section definition (a second document with configVersion)', 'configVersion');
      meta = r;
    } else if (r.has('dockerfile')) {
      const name = r.str('image') ?? '(nameless)';
      r.fail(`image "${name}" is a Dockerfile image; tsbuild builds only stapel images`, 'dockerfile', 'build Dockerfile images with buildah or docker, or rewrite the image with shell instructions');
    } else if (r.has('image') || r.has('artifact')) {
      imageDocs.push(r);
    } else {
      r.fail('cannot recognize type of config section: expected "configVersion" (meta), "image" or "artifact"');
    }
  }
  if (!meta) {
    throw new ConfigError('the meta section is missing', { file, line: 1 }, {
      hint: `start werf.yaml with:\nproject: ${posix.basename(projectDir).toLowerCase().replace(/[^a-z0-9-]/g, '-') || 'my-project'}\nconfigVersion: 1\n---`,
    });
  }
  meta.where = 'meta section';
  meta.checkKeys(META_KEYS, META_IGNORED);
  const cv = meta.str('configVersion');
  if (cv !== '1') meta.fail(`'configVersion: 1' field required (found "${cv}")`, 'configVersion');
  const project = process.env.WERF_PROJECT_NAME || meta.requireStr('project');
  if (!PROJECT_RE.test(project) || project.length > 50) {
    meta.fail(`project name "${project}" is invalid: use lower-case letters, digits and inner dashes, at most 50 characters`, 'project');
  }
  const build = meta.map('build', 'meta build');
  build?.checkKeys(['cacheVersion', 'platform', 'imageSpec', 'staged']);
  const metaCacheVersion = build?.str('cacheVersion');

  const images: ImageSpec[] = [];
  for (const r of imageDocs) images.push(readImage(r, metaCacheVersion));
  validateGraph(images, imageDocs);
  return { project, configVersion: 1, file, projectDir, images, rendered };
}

function readImage(r: MapReader, metaCacheVersion: string | undefined): ImageSpec {
  const isArtifact = r.has('artifact') && !r.isNull('artifact');
  if (r.has('image') && r.has('artifact')) r.fail('use either "image" or "artifact" in one document, not both', 'artifact');
  let name: string;
  if (isArtifact) {
    name = r.requireStr('artifact');
  } else {
    const v = r.valueNode('image');
    name = r.isNull('image') ? '' : (r.strList('image')[0] ?? '');
    if (v && !r.isNull('image') && r.strList('image').length !== 1) {
      r.fail('image lists are not supported yet: give each image its own document', 'image');
    }
  }
  r.where = isArtifact ? `artifact "${name}"` : name ? `image "${name}"` : 'nameless image';
  r.checkKeys(IMAGE_KEYS, IMAGE_IGNORED);
  if (isArtifact) {
    for (const k of ['final', 'disableGitAfterPatch', 'dependencies', 'docker']) {
      if (r.has(k)) r.fail(`${r.where}: "${k}" is not allowed for artifacts`, k);
    }
  }

  const fromKeys = ['from', 'fromImage', 'fromArtifact', 'fromImageArtifact'].filter((k) => r.has(k) && !r.isNull(k));
  if (fromKeys.length === 0) {
    r.fail(`${r.where}: \`from: DOCKER_IMAGE\`, \`fromImage: IMAGE_NAME\` or \`fromArtifact: IMAGE_ARTIFACT_NAME\` required`);
  }
  if (fromKeys.length > 1) r.fail(`${r.where}: conflict between ${fromKeys.map((k) => `\`${k}\``).join(', ')} directives`, fromKeys[1]);
  if (r.has('shell') && r.has('ansible')) r.fail(`${r.where}: can not use shell and ansible builders at the same time`, 'ansible');

  const spec: ImageSpec = {
    name,
    isArtifact,
    final: isArtifact ? false : (r.bool('final') ?? true),
    fromLatest: r.bool('fromLatest') ?? false,
    disableGitAfterPatch: isArtifact || (r.bool('disableGitAfterPatch') ?? false),
    git: [],
    imports: [],
    mounts: [],
    dependencies: [],
    position: r.position(isArtifact ? 'artifact' : 'image'),
  };
  const from = r.str('from');
  if (from !== undefined) spec.from = from;
  const fromImage = r.str('fromImage');
  if (fromImage !== undefined) spec.fromImage = fromImage;
  const fromArtifact = r.str('fromArtifact') ?? r.str('fromImageArtifact');
  if (fromArtifact !== undefined) spec.fromArtifact = fromArtifact;
  const fcv = r.str('fromCacheVersion');
  if (fcv !== undefined) spec.fromCacheVersion = fcv;
  const icv = r.str('cacheVersion') ?? metaCacheVersion;
  if (icv !== undefined) spec.cacheVersion = icv;
  const network = r.str('network');
  if (network !== undefined) spec.network = network;

  const instructions = readInstructions(r);
  if (instructions) spec.instructions = instructions;
  const docker = readDocker(r);
  if (docker) spec.docker = docker;
  spec.git = r.mapList('git', (i) => `${r.where} git[${i}]`).map(readGit);
  spec.imports = r.mapList('import', (i) => `${r.where} import[${i}]`).map(readImport);
  spec.mounts = readMounts(r);
  spec.dependencies = r.mapList('dependencies', (i) => `${r.where} dependencies[${i}]`).map(readDependency);
  return spec;
}

function readInstructions(r: MapReader): InstructionsSpec | undefined {
  const kind = r.has('shell') ? 'shell' : r.has('ansible') ? 'ansible' : undefined;
  if (!kind) return undefined;
  const m = r.map(kind, `${r.where} ${kind}`);
  if (!m) return undefined;
  m.checkKeys(SHELL_KEYS);
  const stageCacheVersions: Partial<Record<UserStageName, string>> = {};
  for (const s of USER_STAGES) {
    const v = m.str(`${s}CacheVersion`);
    if (v !== undefined) stageCacheVersions[s] = v;
  }
  const cacheVersion = m.str('cacheVersion');
  if (kind === 'shell') {
    const stages = Object.fromEntries(USER_STAGES.map((s) => [s, m.strList(s)])) as Record<UserStageName, string[]>;
    return { kind, stages, stageCacheVersions, ...(cacheVersion !== undefined ? { cacheVersion } : {}) };
  }
  const stages = Object.fromEntries(
    USER_STAGES.map((s) => {
      const v = m.json(s);
      if (v !== undefined && v !== null && !Array.isArray(v)) m.fail(`${m.where}: "${s}" must be a list of tasks`, s);
      return [s, (v as unknown[] | null | undefined) ?? []];
    }),
  ) as Record<UserStageName, unknown[]>;
  return { kind, stages, stageCacheVersions, ...(cacheVersion !== undefined ? { cacheVersion } : {}) };
}

function readDocker(r: MapReader): DockerSpec | undefined {
  const m = r.map('docker', `${r.where} docker`);
  if (!m) return undefined;
  m.checkKeys(DOCKER_KEYS);
  const spec: DockerSpec = { VOLUME: m.strList('VOLUME'), EXPOSE: m.strList('EXPOSE'), ENV: m.strMap('ENV'), LABEL: m.strMap('LABEL') };
  for (const k of ['ENTRYPOINT', 'CMD'] as const) {
    const node = m.valueNode(k);
    if (node === undefined || m.isNull(k)) continue;
    spec[k] = (node as { items?: unknown }).items !== undefined ? m.strList(k) : (m.str(k) ?? '');
  }
  for (const k of ['WORKDIR', 'USER', 'HEALTHCHECK'] as const) {
    const v = m.str(k);
    if (v !== undefined) spec[k] = v;
  }
  return spec;
}

function absPath(m: MapReader, key: string, value: string): string {
  if (!value.startsWith('/')) m.fail(`${m.where}: "${key}" must be an absolute path (got "${value}")`, key);
  return posix.normalize(value).replace(/(.)\/$/, '$1');
}

function relMasks(m: MapReader, key: string, values: string[]): string[] {
  return values.map((v) => {
    if (v.startsWith('/')) m.fail(`${m.where}: "${key}" entries must be relative to "add" (got "${v}")`, key);
    const clean = posix.normalize(v).replace(/\/$/, '');
    if (clean === '..' || clean.startsWith('../')) m.fail(`${m.where}: "${key}" entries must not leave "add" with ".." (got "${v}")`, key);
    return clean === '.' ? '' : clean;
  });
}

function readGit(m: MapReader): GitMappingSpec {
  m.checkKeys(GIT_KEYS);
  const url = m.str('url');
  const refs = ['branch', 'tag', 'commit'].filter((k) => m.has(k));
  if (!url && refs.length > 0) m.fail(`${m.where}: specify \`branch\`, \`tag\` and \`commit\` only for remote git (with \`url\`)`, refs[0]);
  if (refs.length > 1) m.fail(`${m.where}: specify only \`branch: BRANCH\`, \`tag: TAG\` or \`commit: COMMIT\` for remote git`, refs[1]);
  const add = absPath(m, 'add', m.str('add') ?? '/');
  const toRaw = m.str('to');
  if (!toRaw) m.fail(`${m.where}: "to" is required (the absolute path in the image where the files go)`);
  const stageDependencies: GitMappingSpec['stageDependencies'] = {};
  const sd = m.map('stageDependencies', `${m.where} stageDependencies`);
  if (sd) {
    sd.checkKeys(['install', 'beforeSetup', 'setup']);
    for (const s of ['install', 'beforeSetup', 'setup'] as const) {
      if (sd.has(s)) stageDependencies[s] = relMasks(sd, s, sd.strList(s));
    }
  }
  const spec: GitMappingSpec = {
    add,
    to: absPath(m, 'to', toRaw),
    includePaths: relMasks(m, 'includePaths', m.strList('includePaths')),
    excludePaths: relMasks(m, 'excludePaths', m.strList('excludePaths')),
    stageDependencies,
    position: m.position(),
  };
  for (const k of ['url', 'branch', 'tag', 'commit', 'owner', 'group'] as const) {
    const v = m.str(k);
    if (v !== undefined) spec[k] = v;
  }
  return spec;
}

function readImport(m: MapReader): ImportSpec {
  m.checkKeys(IMPORT_KEYS);
  const sources = ['image', 'artifact', 'from'].filter((k) => m.has(k));
  if (sources.length !== 1) m.fail(`${m.where}: artifact name \`artifact: NAME\` or image name \`image: NAME\` required for import (exactly one)`);
  const when = ['before', 'after'].filter((k) => m.has(k));
  if (when.length !== 1) m.fail(`${m.where}: specify exactly one of \`before: install|setup\` or \`after: install|setup\``);
  const whenKey = when[0] as 'before' | 'after';
  const whenVal = m.str(whenKey);
  if (whenVal !== 'install' && whenVal !== 'setup') m.fail(`${m.where}: \`${whenKey}\` must be "install" or "setup"`, whenKey);
  const add = absPath(m, 'add', m.requireStr('add'));
  const includePaths = relMasks(m, 'includePaths', m.strList('includePaths'));
  if (add === '/' && includePaths.length === 0) m.fail(`${m.where}: \`add: /\` requires includePaths`, 'add');
  const spec: ImportSpec = {
    add,
    to: absPath(m, 'to', m.str('to') ?? add),
    includePaths,
    excludePaths: relMasks(m, 'excludePaths', m.strList('excludePaths')),
    position: m.position(),
    [whenKey]: whenVal,
  };
  for (const k of ['image', 'artifact', 'from', 'owner', 'group'] as const) {
    const v = m.str(k);
    if (v !== undefined) spec[k] = v;
  }
  const stage = m.str('stage');
  if (stage !== undefined) {
    if (!(USER_STAGES as readonly string[]).includes(stage)) m.fail(`${m.where}: stage must be one of ${USER_STAGES.join(', ')}`, 'stage');
    spec.stage = stage as UserStageName;
  }
  return spec;
}

function readMounts(r: MapReader): MountSpec[] {
  const seen = new Set<string>();
  return r.mapList('mount', (i) => `${r.where} mount[${i}]`).map((m) => {
    m.checkKeys(['from', 'fromPath', 'to']);
    const to = absPath(m, 'to', m.requireStr('to'));
    if (seen.has(to)) m.fail(`${m.where}: conflict between mounts: "${to}" is mounted twice`, 'to');
    seen.add(to);
    const from = m.str('from');
    const fromPath = m.str('fromPath');
    if (from && fromPath) m.fail(`${m.where}: use either "from" or "fromPath"`, 'fromPath');
    if (from !== undefined) {
      if (from !== 'tmp_dir' && from !== 'build_dir') m.fail(`${m.where}: "from" must be tmp_dir or build_dir (got "${from}")`, 'from');
      return { from, to } as MountSpec;
    }
    if (!fromPath) m.fail(`${m.where}: "from" or "fromPath" required`);
    return { fromPath, to } as MountSpec;
  });
}

function readDependency(m: MapReader): DependencySpec {
  m.checkKeys(['image', 'before', 'after', 'imports']);
  const spec: DependencySpec = { image: m.requireStr('image'), imports: [] };
  const before = m.str('before');
  const after = m.str('after');
  if ((before === undefined) === (after === undefined)) m.fail(`${m.where}: specify exactly one of before/after`);
  if (before !== undefined) spec.before = before as 'install' | 'setup';
  if (after !== undefined) spec.after = after as 'install' | 'setup';
  const envs = new Set<string>();
  for (const imp of m.mapList('imports', (i) => `${m.where} imports[${i}]`)) {
    imp.checkKeys(['type', 'targetEnv']);
    const type = imp.requireStr('type');
    if (!['ImageName', 'ImageTag', 'ImageRepo', 'ImageID', 'ImageDigest'].includes(type)) imp.fail(`${imp.where}: unknown type "${type}"`, 'type');
    const targetEnv = imp.requireStr('targetEnv');
    if (envs.has(targetEnv)) imp.fail(`${imp.where}: duplicate targetEnv "${targetEnv}"`, 'targetEnv');
    envs.add(targetEnv);
    spec.imports.push({ type, targetEnv });
  }
  return spec;
}

/** Duplicate names, references to images that do not exist, and cycles (a -> b -> a). */
function validateGraph(images: ImageSpec[], readers: MapReader[]): void {
  const byName = new Map<string, number>();
  images.forEach((img, i) => {
    if (byName.has(img.name)) readers[i]!.fail(`duplicate image name "${img.name || '~'}"`, img.isArtifact ? 'artifact' : 'image');
    byName.set(img.name, i);
  });
  if (byName.has('') && images.length > 1) {
    const i = byName.get('')!;
    readers[i]!.fail('a nameless image (`image: ~`) is only allowed when it is the only image', 'image');
  }
  const edges = (img: ImageSpec): Array<{ name: string; key: string }> => {
    const out: Array<{ name: string; key: string }> = [];
    const base = img.fromImage ?? img.fromArtifact ?? (img.from !== undefined && byName.has(img.from) && img.from !== img.name ? img.from : undefined);
    if (base !== undefined) out.push({ name: base, key: img.fromImage ? 'fromImage' : img.fromArtifact ? 'fromArtifact' : 'from' });
    for (const imp of img.imports) {
      const n = imp.image ?? imp.artifact;
      if (n !== undefined) out.push({ name: n, key: 'import' });
    }
    for (const d of img.dependencies) out.push({ name: d.image, key: 'dependencies' });
    return out;
  };
  images.forEach((img, i) => {
    for (const e of edges(img)) {
      if (e.name === img.name) readers[i]!.fail(`${readers[i]!.where} references itself in "${e.key}"`, e.key);
      if (!byName.has(e.name)) readers[i]!.fail(`image "${e.name}" referenced in "${e.key}" is not defined in this config`, e.key);
    }
  });
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const i = byName.get(name)!;
      readers[i]!.fail(`infinite loop detected: ${[...path.slice(path.indexOf(name)), name].join(' -> ')}`);
    }
    state.set(name, 'visiting');
    for (const e of edges(images[byName.get(name)!]!)) visit(e.name, [...path, name]);
    state.set(name, 'done');
  };
  for (const img of images) visit(img.name, []);
}
