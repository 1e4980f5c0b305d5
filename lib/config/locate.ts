// Config errors found in the rendered text also name the template line that produced it:
// "werf.yaml:12: (rendered line 40) unknown key …" — or the plain "werf.yaml:40:3: …" without templates.
import { ConfigError, type ErrorCode, type TsbuildErrorOptions } from '../errors.js';

/** Where a rendered line came from: a file (werf.yaml, a .werf template, a tpl'd project file) and line. */
export type Locator = (renderedLine: number) => { file: string; line: number } | undefined;

export interface RenderedPosition {
  /** the config file the rendered text belongs to */
  file: string;
  /** 1-based line in the rendered text */
  line: number;
  column?: number;
  code?: ErrorCode;
}

export function configErrorAt(message: string, at: RenderedPosition, locate: Locator | undefined, options: TsbuildErrorOptions = {}): ConfigError {
  const origin = locate?.(at.line);
  const code = at.code ? { code: at.code } : {};
  if (!origin || (origin.file === at.file && origin.line === at.line)) {
    return new ConfigError(message, { file: at.file, line: at.line, ...(at.column !== undefined ? { column: at.column } : {}), ...code }, options);
  }
  return new ConfigError(
    `(rendered line ${at.line}) ${message}`,
    { file: origin.file, line: origin.line, ...code },
    {
      ...options,
      details: { ...options.details, renderedFile: at.file, renderedLine: at.line, ...(at.column !== undefined ? { renderedColumn: at.column } : {}) },
    },
  );
}
