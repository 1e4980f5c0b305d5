// Load werf.yaml: find it, render the Go template, split and parse the documents, validate.
import { readFile, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { buildConfig } from './schema.js';
import { splitAndParse } from './yaml-docs.js';
import type { WerfConfig } from './types.js';
import { renderTemplate, type RenderOptions } from './render.js';
import type { Locator } from './locate.js';
import { GitRepo, type GitRepoPool } from '../git/index.js';

/** Real werf.yaml files are kilobytes (the corpus' largest is ~40 KB); a huge one is a mistake or an attack. */
const MAX_CONFIG_BYTES = 16 * 1024 * 1024;
/** The rendered config is parsed as YAML in memory: cap what templates may produce. */
const MAX_RENDERED_BYTES = 32 * 1024 * 1024;

const formatMiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export interface LoadOptions extends Partial<RenderOptions> {
  dir?: string;
  /** Config file path (absolute or relative to dir). */
  config?: string;
  /** Repositories shared by the whole command (left open: the pool's owner closes them). */
  repos?: GitRepoPool;
}

function unreadable(file: string, err: unknown): ConfigError {
  const e = err as NodeJS.ErrnoException;
  return new ConfigError(
    `cannot read the config: ${e.message ?? String(err)}`,
    { file, code: 'TSB_CONFIG_UNREADABLE' },
    {
      hint: e.code === 'EACCES' ? `make it readable by the user running tsbuild (ls -l ${file})` : 'check that the file is a readable regular file',
      cause: err,
    },
  );
}

async function findConfigFile(dir: string, config?: string): Promise<string> {
  const candidates = config ? [resolve(dir, config)] : [join(dir, 'werf.yaml'), join(dir, 'werf.yml')];
  for (const c of candidates) {
    let st;
    try {
      st = await stat(c);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') continue;
      throw unreadable(c, err);
    }
    if (st.isFile()) return c;
    throw unreadable(c, new Error(`${c} is not a regular file`));
  }
  throw new ConfigError(
    `no ${config ? config : 'werf.yaml or werf.yml'} found in ${dir}`,
    { code: 'TSB_CONFIG_NOT_FOUND' },
    {
      hint: 'run tsbuild in the project directory, or pass --dir DIR / --config FILE',
    },
  );
}

export async function renderConfig(options: LoadOptions = {}): Promise<{ file: string; projectDir: string; rendered: string; locate: Locator }> {
  const projectDir = resolve(options.dir ?? process.cwd());
  const file = await findConfigFile(projectDir, options.config);
  const size = await stat(file).then(
    (st) => st.size,
    (err: unknown) => Promise.reject(unreadable(file, err)),
  );
  if (size > MAX_CONFIG_BYTES) {
    throw new ConfigError(
      `the config is ${formatMiB(size)}, more than the ${formatMiB(MAX_CONFIG_BYTES)} tsbuild reads`,
      { file, code: 'TSB_CONFIG_YAML' },
      {
        hint: 'generate repetitive images with a template ({{ range }}) instead of a huge file',
      },
    );
  }
  const source = await readFile(file, 'utf8').catch((err: unknown) => Promise.reject(unreadable(file, err)));
  const commit = options.commit ?? (await headCommit(projectDir, options.repos));
  const { text: rendered, locate } = await renderTemplate(source, {
    file,
    projectDir,
    env: options.env ?? process.env,
    werfEnv: options.werfEnv ?? '',
    maxOutputBytes: options.maxOutputBytes ?? MAX_RENDERED_BYTES,
    ...(commit ? { commit } : {}),
  });
  return { file, projectDir, rendered, locate };
}

/** .Commit for templates: HEAD of the project's repository, if it is one. */
async function headCommit(projectDir: string, repos: GitRepoPool | undefined): Promise<RenderOptions['commit'] | undefined> {
  let repo: GitRepo | undefined;
  try {
    repo = await (repos ? repos.open(projectDir) : GitRepo.open(projectDir));
    const info = await repo.commitInfo(await repo.headCommit());
    return { hash: info.hash, unix: info.unixSeconds, human: info.human };
  } catch {
    return undefined;
  } finally {
    if (!repos) await repo?.close();
  }
}

export async function loadConfig(options: LoadOptions = {}): Promise<WerfConfig> {
  const { file, projectDir, rendered, locate } = await renderConfig(options);
  const docs = splitAndParse(rendered, file, locate);
  return buildConfig(docs, file, projectDir, rendered);
}
