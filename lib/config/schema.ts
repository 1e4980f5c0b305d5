// Validate werf.yaml documents (werf-spec §3) and normalise them into the typed WerfConfig.
import { posix } from 'node:path';
import { ConfigError } from '../errors.js';
import { MapReader } from './node-reader.js';
import {
  USER_STAGES,
  type DependencySpec,
  type DockerSpec,
  type GitMappingPositions,
  type GitMappingSpec,
  type ImageSpec,
  type ImportSpec,
  type InstructionsSpec,
  type MountSpec,
  type UserStageName,
  type WerfConfig,
} from './types.js';
import type { ParsedDoc } from './yaml-docs.js';
import { isScalar, isSeq, type YAMLMap } from 'yaml';
import { readMeta } from './schema-meta.js';
import { effectiveImageSpec, readImageSpec, readPlatforms, readSecrets, readSecretSource } from './schema-image-spec.js';
import { validateGraph } from './image-graph.js';
import { readAnsibleTasks } from './ansible-modules.js';
import type { MetaSpec } from './types.js';

const IMAGE_KEYS = [
  'image',
  'artifact',
  'final',
  'from',
  'fromImage',
  'fromArtifact',
  'fromImageArtifact',
  'fromLatest',
  'fromCacheVersion',
  'cacheVersion',
  'disableGitAfterPatch',
  'git',
  'shell',
  'ansible',
  'docker',
  'imageSpec',
  'mount',
  'import',
  'dependencies',
  'network',
  'platform',
  'secrets',
] as const;
const IMAGE_IGNORED = ['asLayers', 'herebyIAdmitThatFromLatestMightBreakReproducibility'] as const;
const SHELL_KEYS = [...USER_STAGES, 'cacheVersion', ...USER_STAGES.map((s) => `${s}CacheVersion`)];
const DOCKER_KEYS = ['VOLUME', 'EXPOSE', 'ENV', 'LABEL', 'ENTRYPOINT', 'CMD', 'WORKDIR', 'USER', 'HEALTHCHECK', 'exactValues'];
const GIT_KEYS = [
  'url',
  'branch',
  'tag',
  'commit',
  'add',
  'to',
  'owner',
  'group',
  'includePaths',
  'excludePaths',
  'stageDependencies',
  'basicAuth',
  'herebyIAdmitThatBranchMightBreakReproducibility',
];
const IMPORT_KEYS = ['image', 'artifact', 'from', 'stage', 'add', 'to', 'before', 'after', 'includePaths', 'excludePaths', 'owner', 'group'];

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
      r.fail(
        `image "${name}" is a Dockerfile image; tsbuild builds only stapel images`,
        'dockerfile',
        'build Dockerfile images with buildah or docker, or rewrite the image with shell instructions',
      );
    } else if (r.has('image') || r.has('artifact')) {
      imageDocs.push(r);
    } else {
      r.fail('cannot recognize type of config section: expected "configVersion" (meta), "image" or "artifact"');
    }
  }
  if (!meta) {
    throw new ConfigError(
      'the meta section is missing',
      { file, line: 1 },
      {
        hint: `start werf.yaml with:\nproject: ${
          posix
            .basename(projectDir)
            .toLowerCase()
            .replace(/[^a-z0-9-]/g, '-') || 'my-project'
        }\nconfigVersion: 1\n---`,
      },
    );
  }
  const { project, spec: metaSpec } = readMeta(meta);

  const images: ImageSpec[] = [];
  const readers: MapReader[] = [];
  for (const r of imageDocs) {
    // `image: [a, b]` makes several identical images, one per name (werf-spec §3.3).
    for (const name of imageNames(r)) {
      images.push(readImage(r, name, metaSpec, project));
      readers.push(r);
    }
  }
  validateGraph(images, readers);
  return { project, configVersion: 1, file, projectDir, images, meta: metaSpec, rendered };
}

/** The names a stapel document defines: one artifact, one image, a list of images, or `~` (nameless). */
function imageNames(r: MapReader): string[] {
  const hasImage = r.has('image');
  const artifact = r.str('artifact') ?? '';
  if (hasImage && artifact !== '') r.fail('unknown doc type: one and only one of `image: NAME` or `artifact: NAME` non-empty name required', 'artifact');
  if (artifact !== '') return [artifact];
  if (!hasImage) r.fail('unknown doc type: one of `image: NAME` or `artifact: NAME` non-empty name required', 'artifact');
  const v = r.valueNode('image');
  if (r.isNull('image')) return [''];
  if (isScalar(v)) {
    const name = r.str('image')!;
    if (name === '') r.fail('unknown doc type: one of `image: NAME` or `artifact: NAME` non-empty name required', 'image');
    return [name];
  }
  if (!isSeq(v)) r.fail('invalid image name: expected a name, a list of names or ~', 'image');
  const names = r.strList('image');
  if (names.length === 0) r.fail('unknown doc type: `image: []` names no image', 'image');
  const seen = new Set<string>();
  for (const n of names) {
    if (n === '') r.fail('invalid image name: an item of the `image` list is empty', 'image');
    if (seen.has(n)) r.fail(`duplicate image name "${n}" in the \`image\` list`, 'image');
    seen.add(n);
  }
  return names;
}

function readImage(r: MapReader, name: string, meta: MetaSpec, project: string): ImageSpec {
  const isArtifact = (r.str('artifact') ?? '') !== '';
  r.where = isArtifact ? `artifact "${name}"` : name ? `image "${name}"` : 'nameless image';
  r.checkKeys(IMAGE_KEYS, IMAGE_IGNORED);
  if (isArtifact) {
    if (r.has('docker')) r.fail('`docker` section is not supported for artifact', 'docker');
    if (r.has('final')) r.fail('`final` directive is not supported for artifact', 'final');
    if (r.has('disableGitAfterPatch')) r.fail('`disableGitAfterPatch` directive is not supported for artifact', 'disableGitAfterPatch');
    if (r.has('dependencies'))
      r.fail(`dependencies directive is specified for "${name}" artifact, but dependencies are not supported for artifacts`, 'dependencies');
  }

  const fromKeys = ['from', 'fromImage', 'fromArtifact', 'fromImageArtifact'].filter((k) => r.has(k) && !r.isNull(k));
  if (fromKeys.length === 0) {
    r.fail(`${r.where}: \`from: DOCKER_IMAGE\`, \`fromImage: IMAGE_NAME\` or \`fromArtifact: IMAGE_ARTIFACT_NAME\` required`);
  }
  if (fromKeys.length > 1)
    r.fail(`${r.where}: conflict between \`from\`, \`fromImage\` and \`fromArtifact\` directives (${fromKeys.join(' and ')} given)`, fromKeys[1]);
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
    platform: r.has('platform') ? readPlatforms(r) : meta.build.platform,
    secrets: readSecrets(r),
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
  const icv = r.str('cacheVersion') ?? meta.build.cacheVersion;
  if (icv !== undefined) spec.cacheVersion = icv;
  const network = r.str('network');
  if (network !== undefined) {
    // A step shares the host's network or has none: a misspelt "none" must not mean the host's.
    // Docker's other modes ("bridge", "default") have no sandbox of their own here: the host's.
    if (!['host', 'none', 'bridge', 'default'].includes(network))
      r.fail(`network "${network}" is not supported`, 'network', 'use `network: none` (no network in the steps) or `network: host` (the default)');
    spec.network = network;
  }

  const instructions = readInstructions(r);
  if (instructions) spec.instructions = instructions;
  const docker = readDocker(r);
  if (docker) spec.docker = docker;
  spec.git = r.mapList('git', (i) => `${r.where} git[${i}]`).map(readGit);
  spec.imports = r.mapList('import', (i) => `${r.where} import[${i}]`).map(readImport);
  spec.mounts = readMounts(r);
  spec.dependencies = r.mapList('dependencies', (i) => `${r.where} dependencies[${i}]`).map(readDependency);
  const imageSpec = effectiveImageSpec(readImageSpec(r), meta.build.imageSpec, spec.final, { project, image: name });
  if (imageSpec) spec.imageSpec = imageSpec;
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
  const stages = Object.fromEntries(USER_STAGES.map((s) => [s, readAnsibleTasks(m, s)])) as Record<UserStageName, unknown[]>;
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
  const includePaths = relMasks(m, 'includePaths', m.strList('includePaths'));
  const excludePaths = relMasks(m, 'excludePaths', m.strList('excludePaths'));
  const at: GitMappingPositions = {
    includePaths: includePaths.map((_, i) => m.sourceOf('includePaths', i)),
    excludePaths: excludePaths.map((_, i) => m.sourceOf('excludePaths', i)),
    stageDependencies: {},
  };
  if (m.has('add')) at.add = m.sourceOf('add');
  at.to = m.sourceOf('to');
  const sd = m.map('stageDependencies', `${m.where} stageDependencies`);
  if (sd) {
    sd.checkKeys(['install', 'beforeSetup', 'setup']);
    for (const s of ['install', 'beforeSetup', 'setup'] as const) {
      if (!sd.has(s)) continue;
      const masks = relMasks(sd, s, sd.strList(s));
      stageDependencies[s] = masks;
      at.stageDependencies[s] = { key: sd.sourceOf(s), masks: masks.map((_, i) => sd.sourceOf(s, i)) };
    }
  }
  const spec: GitMappingSpec = {
    add,
    to: absPath(m, 'to', toRaw),
    toWritten: toRaw,
    includePaths,
    excludePaths,
    stageDependencies,
    position: m.position(),
    at,
  };
  for (const k of ['url', 'branch', 'tag', 'commit', 'owner', 'group'] as const) {
    const v = m.str(k);
    if (v !== undefined) spec[k] = v;
  }
  const auth = m.map('basicAuth', `${m.where} basicAuth`);
  if (auth) {
    if (!url) m.fail(`${m.where}: \`basicAuth\` is only for remote git (with \`url\`)`, 'basicAuth');
    auth.checkKeys(['username', 'password']);
    const password =
      auth.map('password', `${auth.where}.password`) ?? auth.fail(`${auth.where}: "password" is required: {env: VAR} | {src: FILE} | {value: TEXT}`);
    spec.basicAuth = { username: auth.requireStr('username'), password: readSecretSource(password) };
  }
  return spec;
}

function readImport(m: MapReader): ImportSpec {
  m.checkKeys(IMPORT_KEYS);
  const sources = ['image', 'artifact', 'from'].filter((k) => (m.str(k) ?? '') !== '');
  if (m.has('image') && m.has('from')) m.fail(`${m.where}: specify only \`image: NAME\` or \`from: NAME\` for import`, 'from');
  if (sources.length === 0) m.fail(`${m.where}: artifact name \`artifact: NAME\` or image name \`image: NAME\` required for import`);
  if (sources.length > 1) m.fail(`${m.where}: specify only one of \`image\`, \`artifact\` or \`from\` for import`, sources[1]);
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
  return r
    .mapList('mount', (i) => `${r.where} mount[${i}]`)
    .map((m) => {
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
