// Load werf.yaml: find it, render the Go template, split and parse the documents, validate.
import { readFile, stat } from 'node:fs/promises';
import { resolve, join } from 'node:path';
import { ConfigError } from '../errors.js';
import { buildConfig } from './schema.js';
import { splitAndParse } from './yaml-docs.js';
import type { WerfConfig } from './types.js';
import { renderTemplate, type RenderOptions } from './render.js';
import type { Locator } from './locate.js';
import { GitRepo } from '../git/index.js';

export interface LoadOptions extends Partial<RenderOptions> {
  dir?: string;
  /** Config file path (absolute or relative to dir). */
  config?: string;
}

export async function findConfigFile(dir: string, config?: string): Promise<string> {
  const candidates = config ? [resolve(dir, config)] : [join(dir, 'werf.yaml'), join(dir, 'werf.yml')];
  for (const c of candidates) {
    try {
      if ((await stat(c)).isFile()) return c;
    } catch {
      /* try the next one */
    }
  }
  throw new ConfigError(`no ${config ? config : 'werf.yaml or werf.yml'} found in ${dir}`, { code: 'TSB_CONFIG_NOT_FOUND' }, {
    hint: 'run tsbuild in the project directory, or pass --dir DIR / --config FILE',
  });
}

export async function renderConfig(options: LoadOptions = {}): Promise<{ file: string; projectDir: string; rendered: string; locate: Locator }> {
  const projectDir = resolve(options.dir ?? process.cwd());
  const file = await findConfigFile(projectDir, options.config);
  const source = await readFile(file, 'utf8');
  const commit = options.commit ?? (await headCommit(projectDir));
  const { text: rendered, locate } = await renderTemplate(source, {
    file,
    projectDir,
    env: options.env ?? process.env,
    werfEnv: options.werfEnv ?? '',
    ...(commit ? { commit } : {}),
  });
  return { file, projectDir, rendered, locate };
}

/** .Commit for templates: HEAD of the project's repository, if it is one. */
async function headCommit(projectDir: string): Promise<RenderOptions['commit'] | undefined> {
  let repo: GitRepo | undefined;
  try {
    repo = await GitRepo.open(projectDir);
    const info = await repo.commitInfo(await repo.headCommit());
    return { hash: info.hash, unix: info.unixSeconds, human: info.human };
  } catch {
    return undefined;
  } finally {
    await repo?.close();
  }
}

export async function loadConfig(options: LoadOptions = {}): Promise<WerfConfig> {
  const { file, projectDir, rendered, locate } = await renderConfig(options);
  const docs = splitAndParse(rendered, file, locate);
  return buildConfig(docs, file, projectDir, rendered);
}
