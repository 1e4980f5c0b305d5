// The normalised, typed werf.yaml the conveyor consumes (after rendering and validation).

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

export interface GitMappingSpec {
  url?: string;
  branch?: string;
  tag?: string;
  commit?: string;
  add: string;
  to: string;
  owner?: string;
  group?: string;
  includePaths: string[];
  excludePaths: string[];
  stageDependencies: Partial<Record<'install' | 'beforeSetup' | 'setup', string[]>>;
  position: SourcePosition;
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
  /** The rendered text, for `tsbuild render` and error excerpts. */
  rendered: string;
}
