// The one error type of the template engine: parse and execution errors, worded like Go's
// ("template: werf.yaml:12:5: executing ..."), with the position for mapping back to the file.

export interface TemplateErrorPosition {
  /** the template (file) name whose text the position refers to: Go's ParseName */
  templateName: string;
  /** 1-based line */
  line: number;
  /** 0-based byte offset in the line, as Go prints it; absent for parse errors */
  column?: number;
  cause?: unknown;
}

export class TemplateError extends Error {
  readonly templateName: string;
  readonly line: number;
  readonly column: number | undefined;

  constructor(message: string, pos: TemplateErrorPosition) {
    super(message, pos.cause === undefined ? undefined : { cause: pos.cause });
    this.name = 'TemplateError';
    this.templateName = pos.templateName;
    this.line = pos.line;
    this.column = pos.column;
  }
}

/** Thrown by template functions: the executor wraps it as "error calling NAME: message". */
export class FuncError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FuncError';
  }
}

/** `env "NAME"` without a default for a variable that is not set: the config can name the fix. */
export class MissingEnvError extends FuncError {
  readonly variable: string;
  constructor(variable: string) {
    super(`the environment variable ${JSON.stringify(variable)} must be set or default must be provided`);
    this.name = 'MissingEnvError';
    this.variable = variable;
  }
}
