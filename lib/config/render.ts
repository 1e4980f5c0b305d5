// Render werf.yaml as a Go template with werf's data (.Files, .Env, .Commit) and functions, plus the
// project's `.werf/**/*.tmpl` templates; template errors become config errors with file and line.
import { basename, join, relative } from 'node:path';
import { ConfigError } from '../errors.js';
import { MissingEnvError, TemplateError, TemplateSet, type WerfTemplateData } from './template/index.js';
import type { Locator } from './locate.js';
import { projectFiles, templateFiles } from './project-files.js';

export interface RenderOptions {
  file: string;
  projectDir: string;
  env: NodeJS.ProcessEnv;
  /** werf's --env value, visible as .Env. */
  werfEnv: string;
  commit?: { hash: string; unix: number; human: string };
  /** Limits against runaway templates. */
  maxOutputBytes?: number;
  maxDepth?: number;
}

export interface Rendered {
  text: string;
  /** the file and line that produced each rendered line */
  locate: Locator;
}

export async function renderTemplate(source: string, options: RenderOptions): Promise<Rendered> {
  const name = basename(options.file);
  const set = new TemplateSet({
    env: options.env,
    ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
    // Real configs nest include/tpl a few levels deep; a template that includes itself ends here.
    maxDepth: options.maxDepth ?? 100,
  });
  // tpl templates are named by their content; one that is a project file's text is that file.
  const filesByText = new Map<string, string>();
  const data: WerfTemplateData = {
    Files: projectFiles(options.projectDir, (path, text) => {
      if (!filesByText.has(text)) filesByText.set(text, path);
    }),
    Env: options.werfEnv,
    Commit: {
      Hash: options.commit?.hash ?? '',
      Date: { Human: options.commit?.human ?? '', Unix: String(options.commit?.unix ?? 0) },
    },
  };
  const fileOf = (templateName: string): string => (templateName === name ? options.file : join(options.projectDir, '.werf', templateName));
  try {
    for (const t of templateFiles(options.projectDir)) set.parse(t.name, t.text);
    set.parse(name, source);
    const { text, lineMap } = set.executeWithLineMap(name, data);
    const locate: Locator = (line) => {
      const origin = lineMap.origin(line);
      if (!origin) return undefined;
      if (origin.name === name) return { file: options.file, line: origin.line };
      if (origin.name.startsWith('tpl-')) {
        const tplText = set.source(origin.name);
        const path = tplText === undefined ? undefined : filesByText.get(tplText);
        return path === undefined ? undefined : { file: join(options.projectDir, path), line: origin.line };
      }
      return { file: join(options.projectDir, '.werf', origin.name), line: origin.line };
    };
    return { text, locate };
  } catch (err) {
    if (err instanceof TemplateError) {
      const file = fileOf(err.templateName);
      // `tsbuild render` runs this same template and fails the same way: hints never send users there.
      const inner = innermost(err);
      const where = `${relative(options.projectDir, fileOf(inner.error.templateName)) || file}:${inner.error.line}`;
      const hint = inner.missingEnv
        ? `set ${inner.missingEnv} in the environment (\`export ${inner.missingEnv}=VALUE\`), or give it a default in the template: {{ env "${inner.missingEnv}" "DEFAULT" }} (${where})`
        : `fix the template at ${where}`;
      throw new ConfigError(
        shorten(err.message),
        { file, line: err.line, ...(err.column !== undefined ? { column: err.column + 1 } : {}), code: 'TSB_CONFIG_TEMPLATE' },
        { hint },
      );
    }
    throw err;
  }
}

/** The deepest template error of a chain of include/tpl calls, and the unset variable behind it if any. */
function innermost(err: TemplateError): { error: TemplateError; missingEnv?: string } {
  let error = err;
  for (let c: unknown = err.cause; c instanceof Error; c = c.cause) {
    if (c instanceof MissingEnvError) return { error, missingEnv: c.variable };
    if (c instanceof TemplateError) error = c;
  }
  return { error };
}

/** Nested include errors repeat themselves; keep the outermost and innermost parts readable. */
function shorten(message: string, max = 1500): string {
  if (message.length <= max) return message;
  const head = message.slice(0, 600);
  const tail = message.slice(-600);
  return `${head}\n  … ${message.length - 1200} characters of nested template errors …\n${tail}`;
}
