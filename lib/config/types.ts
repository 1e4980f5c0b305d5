// The normalised, typed werf.yaml the conveyor consumes (after rendering and validation).
import type { GitMapping, UserStageWithGit } from '../git/index.js';

export const USER_STAGES = ['beforeInstall', 'install', 'beforeSetup', 'setup'] as const;
export type UserStageName = (typeof USER_STAGES)[number];

export interface SourcePosition {
  file: string;
  /** 1-based line in the rendered config. */
  line: number;
  column?: number;
}

export interface ShellSpec {
  kind: 'shell';
  stages: Record<UserStageName, string[]>;
  cacheVersion?: string;
  stageCacheVersions: Partial<Record<UserStageName, string>>;
}

export interface AnsibleSpec {
  kind: 'ansible';
  stages: Record<UserStageName, unknown[]>;
  cacheVersion?: string;
  stageCacheVersions: Partial<Record<UserStageName, string>>;
}

export type InstructionsSpec = ShellSpec | AnsibleSpec;

export interface DockerSpec {
  VOLUME: string[];
  EXPOSE: string[];
  ENV: Record<string, string>;
  LABEL: Record<string, string>;
  ENTRYPOINT?: string[] | string;
  CMD?: string[] | string;
  WORKDIR?: string;
  USER?: string;
  HEALTHCHECK?: string;
}

/** A git mapping as werf.yaml gives it: lib/git's GitMapping, masks normalised, plus where it was written. */
export interface GitMappingSpec extends GitMapping {
  includePaths: string[];
  excludePaths: string[];
  stageDependencies: Partial<Record<UserStageWithGit, string[]>>;
  /** remote mappings (v2): credentials for https clones */
  basicAuth?: { username: string; password: SecretSourceSpec };
  position: SourcePosition;
  /** `to` as written: the trailing "/" cleaning drops changes the meaning when `add` is a file. */
  toWritten?: string;
  /** Where each key and mask was written (through the template's line map), for warnings about the mapping. */
  at?: GitMappingPositions;
}

export interface GitMappingPositions {
  add?: SourcePosition;
  to?: SourcePosition;
  /** One per mask, in order. */
  includePaths: SourcePosition[];
  excludePaths: SourcePosition[];
  stageDependencies: Partial<Record<UserStageWithGit, { key: SourcePosition; masks: SourcePosition[] }>>;
}

/** Where a secret value comes from: exactly one of an env var, a host file or a literal. */
export interface SecretSourceSpec {
  env?: string;
  src?: string;
  value?: string;
}

/** A build secret (v2 `secrets`), mounted at /run/secrets/<id> during user stages. */
export interface SecretSpec extends SecretSourceSpec {
  id: string;
}

export interface HealthcheckSpec {
  test: string[];
  /** seconds */
  interval?: number;
  timeout?: number;
  startPeriod?: number;
  retries?: number;
}

/** werf v2 `imageSpec` (after merging meta `build.imageSpec` into final images). */
export interface ImageConfigSpec {
  author?: string;
  clearHistory: boolean;
  config: {
    user?: string;
    cmd?: string[];
    entrypoint?: string[];
    workingDir?: string;
    stopSignal?: string;
    env: Record<string, string>;
    expose: string[];
    volumes: string[];
    /** `%project%` and `%image%` already substituted in keys and values */
    labels: Record<string, string>;
    healthcheck?: HealthcheckSpec;
    removeEnv: string[];
    /** exact names or `/regex/` */
    removeLabels: string[];
    removeVolumes: string[];
    clearCmd: boolean;
    clearEntrypoint: boolean;
    clearUser: boolean;
    clearWorkingDir: boolean;
    keepEssentialWerfLabels: boolean;
    clearWerfLabels: boolean;
  };
}

/** Meta `build.imageSpec`: the part of imageSpec that applies to every final image. */
export interface MetaImageSpec {
  author?: string;
  clearHistory: boolean;
  config: { labels: Record<string, string>; removeLabels: string[]; keepEssentialWerfLabels: boolean; clearWerfLabels: boolean };
}

/** The meta document beyond project/configVersion. deploy and cleanup are validated and kept, not used. */
export interface MetaSpec {
  build: { cacheVersion?: string; platform: string[]; staged: boolean; imageSpec?: MetaImageSpec };
  gitWorktree: { forceShallowClone?: boolean; allowUnshallow?: boolean; allowFetchOriginBranchesAndTags?: boolean };
  deploy?: Record<string, unknown>;
  cleanup?: Record<string, unknown>;
}

export interface ImportSpec {
  image?: string;
  artifact?: string;
  from?: string;
  stage?: UserStageName;
  add: string;
  to: string;
  before?: 'install' | 'setup';
  after?: 'install' | 'setup';
  includePaths: string[];
  excludePaths: string[];
  owner?: string;
  group?: string;
  position: SourcePosition;
}

export interface MountSpec {
  from?: 'tmp_dir' | 'build_dir';
  fromPath?: string;
  to: string;
}

export interface DependencySpec {
  image: string;
  before?: 'install' | 'setup';
  after?: 'install' | 'setup';
  imports: Array<{ type: string; targetEnv: string }>;
}

export interface ImageSpec {
  /** werf image name; "" for the nameless image (`image: ~`). */
  name: string;
  isArtifact: boolean;
  final: boolean;
  from?: string;
  fromImage?: string;
  fromArtifact?: string;
  fromLatest: boolean;
  fromCacheVersion?: string;
  cacheVersion?: string;
  disableGitAfterPatch: boolean;
  instructions?: InstructionsSpec;
  docker?: DockerSpec;
  git: GitMappingSpec[];
  imports: ImportSpec[];
  mounts: MountSpec[];
  dependencies: DependencySpec[];
  network?: string;
  /** target platforms (`os/arch[/variant]`): the image's own, else meta build.platform; [] = the host's */
  platform: string[];
  secrets: SecretSpec[];
  imageSpec?: ImageConfigSpec;
  position: SourcePosition;
}

export interface WerfConfig {
  project: string;
  configVersion: 1;
  /** Absolute path of the config file that was loaded. */
  file: string;
  /** Directory of the project (where werf.yaml lives). */
  projectDir: string;
  images: ImageSpec[];
  meta: MetaSpec;
  /** The rendered text, for `tsbuild render` and error excerpts. */
  rendered: string;
}
