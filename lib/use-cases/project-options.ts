// Options `build` and `plan` share, and the wiring both do the same way: the local store, the
// stages repositories in lookup order, the base-image resolver, git sources.
import { join } from 'node:path';
import type { LayoutStore } from '../content/index.js';
import type { LoadOptions, WerfConfig } from '../config/index.js';
import { GitSources, baseImageResolver, type PullPolicy, type RegistryMirror } from '../conveyor/index.js';
import type { ProjectEnv } from '../conveyor/index.js';
import type { EventSink } from '../events.js';
import type { GitRepoPool } from '../git/index.js';
import { publishLocksDir, type HomePaths } from '../home.js';
import { parseRepository, type Platform } from '../oci/index.js';
import type { RegistryClient } from '../registry/index.js';
import { RegistryStages, finalRefName } from '../storage/index.js';

export interface ProjectOptions extends LoadOptions {
  home: HomePaths;
  images?: string[];
  /** Build the git work tree as if committed (uncommitted changes are an error otherwise). */
  dev?: boolean;
  /** Stages are kept in (and looked up from) this repository as REPO:<signature>; final images are pushed to REPO/<image>:latest with --push. */
  repo?: string;
  /** Looked up first and written after the build (a faster or closer cache). */
  cacheRepo?: string;
  /** Read-only stages repository (e.g. the main branch's cache for a feature branch). */
  secondaryRepo?: string;
  pull?: PullPolicy;
  /** --registry-mirror: base images of a registry are fetched from a mirror (names and signatures unchanged). */
  registryMirrors?: RegistryMirror[];
  platform?: Platform;
  /** --stapel-image: the ansible toolchain (default: tsbuild/stapel:<format> of the local store). */
  stapelImage?: string;
  /** Final images go to --repo (their names enter `dependencies` env values, hence signatures). */
  push?: boolean;
  registry: RegistryClient;
  onEvent?: EventSink;
  signal?: AbortSignal | undefined;
}

export function destinationFor(repo: string, imageName: string): string {
  const r = parseRepository(repo);
  const base = `${r.registry}/${r.repository}`;
  return imageName ? `${base}/${imageName}:latest` : `${base}:latest`;
}

export interface StagesRepositories {
  primary?: RegistryStages;
  cache?: RegistryStages;
  secondary?: RegistryStages;
  /** In lookup order: --cache-repo, --repo, --secondary-repo. */
  lookup: RegistryStages[];
  /** Written after a stage is built: --repo, --cache-repo. */
  writable: RegistryStages[];
}

export function stagesRepositories(options: ProjectOptions, store: LayoutStore, onEvent: EventSink): StagesRepositories {
  const make = (repo: string | undefined, readOnly: boolean): RegistryStages | undefined =>
    repo
      ? new RegistryStages(options.registry, parseRepository(repo), store, {
          readOnly,
          onEvent,
          publishLocks: publishLocksDir(),
          signal: options.signal,
        })
      : undefined;
  const primary = make(options.repo, false);
  const cache = make(options.cacheRepo, false);
  const secondary = make(options.secondaryRepo, true);
  const present = (xs: Array<RegistryStages | undefined>): RegistryStages[] => xs.filter((r): r is RegistryStages => r !== undefined);
  return {
    ...(primary ? { primary } : {}),
    ...(cache ? { cache } : {}),
    ...(secondary ? { secondary } : {}),
    lookup: present([cache, primary, secondary]),
    writable: present([primary, cache]),
  };
}

/** What every image of a plan or build shares; `close()` releases the git sources. */
export function projectEnv(config: WerfConfig, store: LayoutStore, options: ProjectOptions, repos?: GitRepoPool): ProjectEnv & { close(): Promise<void> } {
  const finalRefOf = (n: string): string => (options.push && options.repo ? destinationFor(options.repo, n) : finalRefName(config.project, n));
  const onEvent: EventSink = options.onEvent ?? (() => undefined);
  const git = new GitSources({
    projectDir: config.projectDir,
    cacheDir: join(options.home.root, 'git-cache'),
    dev: !!options.dev,
    signal: options.signal,
    ...(repos ? { repos } : {}),
  });
  const bases = baseImageResolver({
    store,
    client: options.registry,
    pull: options.pull ?? 'missing',
    onEvent,
    ...(options.registryMirrors?.length ? { mirrors: options.registryMirrors } : {}),
    ...(options.platform ? { platform: options.platform } : {}),
    signal: options.signal,
  });
  return {
    config,
    store,
    bases,
    git,
    cacheDir: join(options.home.root, 'cache'),
    ...(options.stapelImage ? { stapelImage: options.stapelImage } : {}),
    finalRefOf,
    onEvent,
    signal: options.signal,
    close: () => git.close(),
  };
}
