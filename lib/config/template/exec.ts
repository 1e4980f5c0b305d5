// Executor for parsed templates with Go's semantics (text/template/exec.go): variables and their
// scopes, field/method/map lookup, pipelines, argument type checks, range/with/if, error texts.
import { nodeString, type AnyNode, type BranchNode, type Node, type TemplateNode } from './ast.js';
import { formatValue } from './fmt.js';
import type { CallContext } from './func-types.js';
import type { Tree } from './parser.js';
import { alignNested, LineMap, type WriteOrigin } from './line-map.js';
import { isGoMap, isInt, isTrue, sortedKeys, sortedMapEntries, typeName } from './value.js';
import { BREAK, CONTINUE, Evaluator, type ExecHost } from './exec-eval.js';

export type { ExecHost } from './exec-eval.js';

const MAX_NESTED = 32;

/** Output buffer that fails as soon as the limit is crossed; with a LineMap it records who wrote each line. */
export class Output {
  private chunks: string[] = [];
  private size = 0;
  constructor(
    readonly limit: number,
    readonly map?: LineMap,
  ) {}
  write(s: string, origin?: WriteOrigin): boolean {
    if (s.length === 0) return true;
    this.size += s.length > 64 || /[^\x00-\x7f]/.test(s) ? Buffer.byteLength(s, 'utf8') : s.length;
    if (this.size > this.limit) return false;
    this.chunks.push(s);
    if (this.map && origin) this.map.record(s, origin);
    return true;
  }
  toString(): string {
    return this.chunks.join('');
  }
}

export class ExecState extends Evaluator {
  protected readonly ctx: CallContext;

  constructor(
    host: ExecHost,
    tree: Tree,
    private readonly out: Output,
    private readonly depth: number,
    dot: unknown,
  ) {
    super(host, tree, dot);
    this.ctx = {
      execute: (name, data) => this.executeNested(name, data),
      parseTemplate: (text) => host.parseTemplate(text),
      maxOutputBytes: host.maxOutputBytes,
    };
  }

  run(dot: unknown): void {
    this.walk(dot, this.tree.root);
  }

  /** include/tpl: run another template into its own buffer, one level deeper. */
  private executeNested(name: string, data: unknown): string {
    const tree = this.host.lookup(name);
    if (!tree) throw new Error(`template: no template ${JSON.stringify(name)} associated with template ${JSON.stringify(this.host.rootName)}`);
    if (this.depth + 1 >= this.host.maxDepth) {
      throw new Error(`exceeded maximum template depth (${this.host.maxDepth})`);
    }
    const out = new Output(this.host.maxOutputBytes, this.out.map ? new LineMap() : undefined);
    const dot = data === null ? undefined : data;
    new ExecState(this.host, tree, out, this.depth + 1, dot).run(dot);
    const text = out.toString();
    if (out.map) {
      const nested = this.host.nested;
      nested.push({ text, map: out.map });
      if (nested.length > MAX_NESTED) nested.shift();
    }
    return text;
  }

  // ---- walking ----

  protected walk(dot: unknown, node: Node): void {
    this.at(node);
    switch (node.kind) {
      case 'action': {
        const val = this.evalPipeline(dot, node.pipe);
        if (node.pipe.decl.length === 0) this.printValue(node, val);
        return;
      }
      case 'break':
        throw BREAK;
      case 'continue':
        throw CONTINUE;
      case 'comment':
        return;
      case 'if':
      case 'with':
        this.walkIfOrWith(dot, node);
        return;
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        this.walkRange(dot, node);
        return;
      case 'template':
        this.walkTemplate(dot, node);
        return;
      case 'text':
        this.write(node.text, this.out.map ? { name: this.tree.parseName, line: lineOf(this.tree, node.pos), advance: true } : undefined);
        return;
    }
  }

  protected write(s: string, origin?: WriteOrigin): void {
    if (!this.out.write(s, origin)) {
      this.errorf(`rendered output exceeds the limit of ${this.out.limit} bytes`);
    }
  }

  protected walkIfOrWith(dot: unknown, node: BranchNode): void {
    const mark = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      if (isTrue(val)) {
        this.walk(node.kind === 'with' ? val : dot, node.list);
      } else if (node.elseList) {
        this.walk(dot, node.elseList);
      }
    } finally {
      this.vars.length = mark;
    }
  }

  protected walkRange(dot: unknown, node: BranchNode): void {
    this.at(node);
    const outer = this.vars.length;
    try {
      const val = this.evalPipeline(dot, node.pipe);
      const mark = this.vars.length;
      const decl = node.pipe.decl.length;
      // returns false on {{break}}
      const one = (index: unknown, elem: unknown): boolean => {
        if (decl > 0) this.vars[this.vars.length - 1]!.value = elem;
        if (decl > 1) this.vars[this.vars.length - 2]!.value = index;
        try {
          this.walk(elem, node.list);
        } catch (e) {
          if (e === BREAK) return false;
          if (e !== CONTINUE) throw e;
        } finally {
          this.vars.length = mark;
        }
        return true;
      };
      let ran = false;
      if (Array.isArray(val)) {
        for (let i = 0; i < val.length; i++) {
          ran = true;
          if (!one(i, val[i] === undefined ? null : val[i])) break;
        }
      } else if (isGoMap(val)) {
        for (const k of sortedKeys(val)) {
          ran = true;
          if (!one(k, val[k] === undefined ? null : val[k])) break;
        }
      } else if (val instanceof Map) {
        for (const [k, v] of sortedMapEntries(val)) {
          ran = true;
          if (!one(k, v)) break;
        }
      } else if (isInt(val)) {
        if (decl > 1) this.errorf(`can't use ${formatValue(val)} to iterate over more than one variable`);
        // Counts without allocating: range 1e9 must not build a billion-element array.
        for (let i = 0; i < val; i++) {
          ran = true;
          if (!one(i, i)) break;
        }
      } else if (val !== undefined && val !== null) {
        this.errorf(`range can't iterate over ${formatValue(val)}`);
      }
      if (!ran && node.elseList) this.walk(dot, node.elseList);
    } finally {
      this.vars.length = outer;
    }
  }

  protected walkTemplate(dot: unknown, node: TemplateNode): void {
    this.at(node);
    const tree = this.host.lookup(node.name);
    if (!tree) this.errorf(`template ${JSON.stringify(node.name)} not defined`);
    if (this.depth + 1 >= this.host.maxDepth) this.errorf(`exceeded maximum template depth (${this.host.maxDepth})`);
    const newDot = this.evalPipeline(dot, node.pipe);
    new ExecState(this.host, tree, this.out, this.depth + 1, newDot).run(newDot);
  }

  protected printValue(node: AnyNode, v: unknown): void {
    this.at(node);
    const origin = this.out.map ? { name: this.tree.parseName, line: lineOf(this.tree, node.pos), advance: false } : undefined;
    if (v === undefined) {
      this.write('<no value>', origin);
      return;
    }
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(node)} of type ${typeName(v)}`);
    const text = formatValue(v);
    const lines = origin && typeof v === 'string' ? alignNested(text, this.host.nested) : undefined;
    if (!origin || !lines) {
      this.write(text, origin);
      return;
    }
    // Text from an earlier include/tpl: each line keeps the origin it had there.
    let start = 0;
    lines.forEach((o, i) => {
      const end = i === lines.length - 1 ? text.length : text.indexOf('\n', start) + 1;
      this.write(text.slice(start, end), o ? { ...o, advance: false } : origin);
      start = end;
    });
  }

  // ---- evaluation ----
}

const lineStarts = new WeakMap<Tree, Int32Array>();

/** 1-based line of an offset in a tree's text (line starts computed once per tree). */
function lineOf(tree: Tree, pos: number): number {
  let starts = lineStarts.get(tree);
  if (!starts) {
    const list = [0];
    for (let i = tree.text.indexOf('\n'); i >= 0; i = tree.text.indexOf('\n', i + 1)) list.push(i + 1);
    starts = Int32Array.from(list);
    lineStarts.set(tree, starts);
  }
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= pos) lo = mid;
    else hi = mid - 1;
  }
  return lo + 1;
}
