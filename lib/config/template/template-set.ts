// A set of associated templates sharing one function map, like a Go *template.Template with
// its associated templates: werf.yaml, the .werf/**/*.tmpl files and every {{define}} in them.
import { isEmptyTree } from './ast.js';
import { BUILTINS } from './builtins.js';
import { ExecState, Output, type ExecHost } from './exec.js';
import { LineMap, type NestedOutput } from './line-map.js';
import { fromJsFunction, type TemplateFunc } from './func-types.js';
import { parse, type Tree } from './parser.js';
import { adler32 } from './sprig-crypto.js';
import { sprigFunctions } from './sprig.js';
import { TemplateError } from './template-error.js';
import { werfFunctions } from './werf-functions.js';

export interface TemplateSetOptions {
  /** Extra functions; they override built-in ones of the same name. */
  funcs?: Record<string, TemplateFunc | ((...args: never[]) => unknown)>;
  /** Variables seen by werf's `env` function (usually process.env). */
  env?: Record<string, string | undefined>;
  /** werf's --loose-giterminism: `env` of an unset variable without default gives "" instead of failing. */
  looseEnv?: boolean;
  /** 'werf' (default): Go builtins + sprig + werf functions; 'go': Go builtins only. */
  functions?: 'werf' | 'go';
  /** Limit on rendered output (and on each include/tpl result), in bytes. Default 64 MiB. */
  maxOutputBytes?: number;
  /** Limit on nested template/include/tpl calls. Default 1000. */
  maxDepth?: number;
}

const DEFAULT_MAX_OUTPUT_BYTES = 64 * 1024 * 1024;
const DEFAULT_MAX_DEPTH = 1000;

export class TemplateSet {
  private readonly trees = new Map<string, Tree>();
  private readonly funcs = new Map<string, TemplateFunc>();
  private readonly tplNames = new Map<string, string>();
  private rootName = '';
  private nested: NestedOutput[] = [];
  /** source text per parse name (file), for mapping tpl templates back to the files they came from */
  private readonly sources = new Map<string, string>();
  readonly maxOutputBytes: number;
  readonly maxDepth: number;
  private readonly host: ExecHost;

  constructor(options: TemplateSetOptions = {}) {
    this.maxOutputBytes = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
    const set = this;
    this.host = {
      lookup: (name) => this.trees.get(name),
      findFunction: (name) => this.funcs.get(name),
      maxDepth: this.maxDepth,
      maxOutputBytes: this.maxOutputBytes,
      get rootName() {
        return set.rootName;
      },
      parseTemplate: (text) => this.parseTpl(text),
      get nested() {
        return set.nested;
      },
    };
    const all: Record<string, TemplateFunc> = { ...BUILTINS };
    if ((options.functions ?? 'werf') === 'werf') {
      Object.assign(all, sprigFunctions(), werfFunctions({ env: options.env ?? {}, looseEnv: options.looseEnv ?? false }));
    }
    for (const [name, f] of Object.entries(all)) this.funcs.set(name, f);
    for (const [name, f] of Object.entries(options.funcs ?? {})) {
      this.funcs.set(name, typeof f === 'function' ? fromJsFunction(f as (...a: unknown[]) => unknown) : f);
    }
  }

  /**
   * Parses text as the template `name`; its {{define}}s join the set. A later non-empty
   * definition replaces an earlier one, an empty one never does (Go's AddParseTree).
   * Throws TemplateError on syntax errors.
   */
  parse(name: string, text: string): this {
    const trees = parse(name, text, (f) => this.funcs.has(f));
    this.sources.set(name, text);
    for (const tree of trees) {
      const old = this.trees.get(tree.name);
      if (old && isEmptyTree(tree.root) && !isEmptyTree(old.root)) continue;
      this.trees.set(tree.name, tree);
    }
    return this;
  }

  has(name: string): boolean {
    return this.trees.has(name);
  }

  /** Names of all templates in the set, sorted. */
  names(): string[] {
    return [...this.trees.keys()].sort();
  }

  /** Executes template `name` with `data` as dot and returns the output. Throws TemplateError. */
  execute(name: string, data?: unknown): string {
    return this.run(name, data, false).text;
  }

  /**
   * Like execute, and also returns which template line wrote each output line (through
   * {{template}}, include and tpl), for errors found later in the rendered text.
   */
  executeWithLineMap(name: string, data?: unknown): { text: string; lineMap: LineMap } {
    const { text, map } = this.run(name, data, true);
    return { text, lineMap: map! };
  }

  /** The text parsed under `name` (a file, or a tpl-... template). */
  source(name: string): string | undefined {
    return this.sources.get(name);
  }

  private run(name: string, data: unknown, lines: boolean): { text: string; map: LineMap | undefined } {
    const tree = this.trees.get(name);
    if (!tree) {
      throw new TemplateError(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify(name)}`, {
        templateName: name,
        line: 0,
      });
    }
    this.rootName = name;
    this.nested = [];
    const out = new Output(this.maxOutputBytes, lines ? new LineMap() : undefined);
    const dot = data === null ? undefined : data;
    try {
      new ExecState(this.host, tree, out, 0, dot).run(dot);
    } finally {
      this.nested = [];
    }
    return { text: out.toString(), map: out.map };
  }

  /** werf's tpl: the text joins the set under a name derived from its content. */
  private parseTpl(text: string): string {
    let name = this.tplNames.get(text);
    if (name === undefined) {
      name = 'tpl-' + adler32(text).toString(16).padStart(8, '0');
      this.parse(name, text);
      this.tplNames.set(text, name);
    }
    return name;
  }
}
