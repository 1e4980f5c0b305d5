// Render werf.yaml as a Go template with werf's data (.Files, .Env, .Commit) and functions.
// WALKING-SKELETON SHORTCUT: until the Go-template engine lands (lib/config/template), a config
// without template actions is passed through and one with actions is rejected clearly.
import { ConfigError } from '../errors.js';

export interface RenderOptions {
  file: string;
  projectDir: string;
  env: NodeJS.ProcessEnv;
  /** werf's --env value, visible as .Env. */
  werfEnv: string;
  commit?: { hash: string; unix: number; human: string };
}

export async function renderTemplate(source: string, options: RenderOptions): Promise<string> {
  const idx = source.indexOf('{{');
  if (idx >= 0) {
    const line = source.slice(0, idx).split('\n').length;
    throw new ConfigError('Go template actions are not supported yet', { file: options.file, line, code: 'TSB_CONFIG_TEMPLATE' });
  }
  return source;
}
