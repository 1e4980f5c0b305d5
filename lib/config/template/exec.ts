// Executor for parsed templates with Go's semantics (text/template/exec.go): variables and their
// scopes, field/method/map lookup, pipelines, argument type checks, range/with/if, error texts.
import {
  nodeString,
  type AnyNode,
  type ArgNode,
  type BranchNode,
  type ChainNode,
  type CommandNode,
  type FieldNode,
  type IdentifierNode,
  type ListNode,
  type Node,
  type PipeNode,
  type TemplateNode,
  type VariableNode,
} from './ast.js';
import { formatValue } from './fmt.js';
import { GO_TYPE_NAMES, type CallContext, type ParamType, type TemplateFunc } from './func-types.js';
import { timeMethod } from './go-time.js';
import { position, type Tree } from './parser.js';
import { TemplateError } from './template-error.js';
import { alignNested, LineMap, type NestedOutput, type WriteOrigin } from './line-map.js';
import { GoTime, isFloat, isGoMap, isInt, isTrue, sortedKeys, sortedMapEntries, typeName } from './value.js';

/** Marks "no final pipeline value", unlike undefined which is Go's invalid value. */
const MISSING: unique symbol = Symbol('missing');
type Final = unknown;

const BREAK = Symbol('break');
const CONTINUE = Symbol('continue');

/** What the executor needs from the template set. */
export interface ExecHost {
  lookup(name: string): Tree | undefined;
  findFunction(name: string): TemplateFunc | undefined;
  readonly maxDepth: number;
  readonly maxOutputBytes: number;
  /** the set's main template name, for "no template ... associated with template ..." */
  readonly rootName: string;
  parseTemplate(text: string): string;
  /** include/tpl outputs of the current execution, oldest first (only when line maps are kept) */
  readonly nested: NestedOutput[];
}

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

interface Variable {
  name: string;
  value: unknown;
}

export class ExecState {
  private vars: Variable[];
  private node: AnyNode | undefined;
  private readonly ctx: CallContext;

  constructor(
    private readonly host: ExecHost,
    private tree: Tree,
    private readonly out: Output,
    private readonly depth: number,
    dot: unknown,
  ) {
    this.vars = [{ name: '$', value: dot }];
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

  /** `cause` keeps a failed function's error (and a nested template's) for callers that explain it. */
  errorf(msg: string, cause?: unknown): never {
    const name = this.tree.name;
    if (!this.node) {
      throw new TemplateError(`template: ${name}: ${msg}`, { templateName: this.tree.parseName, line: 0, cause });
    }
    const { line, column } = position(this.tree.text, this.node.pos);
    throw new TemplateError(
      `template: ${this.tree.parseName}:${line}:${column}: executing ${JSON.stringify(name)} at <${nodeString(this.node)}>: ${msg}`,
      { templateName: this.tree.parseName, line, column, cause },
    );
  }

  private at(n: AnyNode): void {
    this.node = n;
  }

  // ---- variables ----

  private setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  private varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    return this.errorf(`undefined variable: ${name}`);
  }

  // ---- walking ----

  private walk(dot: unknown, node: Node): void {
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
        return this.walkIfOrWith(dot, node);
      case 'list':
        for (const n of node.nodes) this.walk(dot, n);
        return;
      case 'range':
        return this.walkRange(dot, node);
      case 'template':
        return this.walkTemplate(dot, node);
      case 'text':
        this.write(node.text, this.out.map ? { name: this.tree.parseName, line: lineOf(this.tree, node.pos), advance: true } : undefined);
        return;
    }
  }

  private write(s: string, origin?: WriteOrigin): void {
    if (!this.out.write(s, origin)) {
      this.errorf(`rendered output exceeds the limit of ${this.out.limit} bytes`);
    }
  }

  private walkIfOrWith(dot: unknown, node: BranchNode): void {
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

  private walkRange(dot: unknown, node: BranchNode): void {
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

  private walkTemplate(dot: unknown, node: TemplateNode): void {
    this.at(node);
    const tree = this.host.lookup(node.name);
    if (!tree) this.errorf(`template ${JSON.stringify(node.name)} not defined`);
    if (this.depth + 1 >= this.host.maxDepth) this.errorf(`exceeded maximum template depth (${this.host.maxDepth})`);
    const newDot = this.evalPipeline(dot, node.pipe);
    new ExecState(this.host, tree, this.out, this.depth + 1, newDot).run(newDot);
  }

  private printValue(node: AnyNode, v: unknown): void {
    this.at(node);
    const origin = this.out.map ? { name: this.tree.parseName, line: lineOf(this.tree, node.pos), advance: false } : undefined;
    if (v === undefined) return this.write('<no value>', origin);
    if (typeof v === 'function') this.errorf(`can't print ${nodeString(node)} of type ${typeName(v)}`);
    const text = formatValue(v);
    const lines = origin && typeof v === 'string' ? alignNested(text, this.host.nested) : undefined;
    if (!origin || !lines) return this.write(text, origin);
    // Text from an earlier include/tpl: each line keeps the origin it had there.
    let start = 0;
    lines.forEach((o, i) => {
      const end = i === lines.length - 1 ? text.length : text.indexOf('\n', start) + 1;
      this.write(text.slice(start, end), o ? { ...o, advance: false } : origin);
      start = end;
    });
  }

  // ---- evaluation ----

  private evalPipeline(dot: unknown, pipe: PipeNode | undefined): unknown {
    if (!pipe) return undefined;
    this.at(pipe);
    let value: unknown = MISSING;
    for (const cmd of pipe.cmds) {
      value = this.evalCommand(dot, cmd, value);
      // Go unwraps interface{} results: a nil interface becomes "no value".
      if (value === null) value = undefined;
    }
    for (const v of pipe.decl) {
      if (pipe.isAssign) this.setVar(v.idents[0]!, value);
      else this.vars.push({ name: v.idents[0]!, value });
    }
    return value;
  }

  private evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
    const first = cmd.args[0]!;
    switch (first.kind) {
      case 'field':
        return this.evalFieldNode(dot, first, cmd.args, final);
      case 'chain':
        return this.evalChainNode(dot, first, cmd.args, final);
      case 'identifier':
        return this.evalFunction(dot, first, cmd, cmd.args, final);
      case 'pipe':
        this.notAFunction(cmd.args, final);
        return this.evalPipeline(dot, first);
      case 'variable':
        return this.evalVariableNode(dot, first, cmd.args, final);
    }
    this.at(first);
    this.notAFunction(cmd.args, final);
    switch (first.kind) {
      case 'bool':
        return first.value;
      case 'dot':
        return dot;
      case 'nil':
        return this.errorf('nil is not a command');
      case 'number':
        return first.ideal;
      case 'string':
        return first.text;
    }
  }

  private notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
    }
  }

  private evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[], final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.idents, args, final);
  }

  private evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[], final: Final): unknown {
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'value', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.fields, args, final);
  }

  private evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[], final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.idents[0]!);
    if (v.idents.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.idents.slice(1), args, final);
  }

  private evalFieldChain(
    dot: unknown,
    receiver: unknown,
    node: AnyNode,
    idents: string[],
    args: ArgNode[],
    final: Final,
  ): unknown {
    let iface = false;
    const n = idents.length;
    for (let i = 0; i < n - 1; i++) {
      receiver = this.evalField(dot, idents[i]!, node, [], MISSING, receiver, iface);
      iface = true;
    }
    return this.evalField(dot, idents[n - 1]!, node, args, final, receiver, iface);
  }

  private evalField(
    dot: unknown,
    name: string,
    node: AnyNode,
    args: ArgNode[],
    final: Final,
    receiver: unknown,
    iface: boolean,
  ): unknown {
    if (receiver === undefined) return undefined;
    const typ = iface ? 'interface {}' : typeName(receiver);
    if (receiver === null) this.errorf(`nil pointer evaluating ${typ}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoTime) {
      const m = timeMethod(receiver, name);
      if (m) return this.evalCall(dot, m, node, name, args, final);
    } else if (isGoMap(receiver)) {
      const has = Object.prototype.hasOwnProperty.call(receiver, name);
      const value = has ? receiver[name] : undefined;
      // A JS function stored in a map is called like a method (callers' data such as Files).
      if (typeof value === 'function') {
        return this.callMethod(dot, receiver, value as (...a: unknown[]) => unknown, node, name, args, final);
      }
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return has ? (value === undefined ? null : value) : undefined;
    } else if (receiver instanceof Map) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return receiver.has(name) ? receiver.get(name) ?? null : undefined;
    } else if (typeof receiver === 'object' && !Array.isArray(receiver)) {
      const value = (receiver as Record<string, unknown>)[name];
      if (typeof value === 'function') {
        return this.callMethod(dot, receiver, value as (...a: unknown[]) => unknown, node, name, args, final);
      }
      if (name in receiver) {
        if (hasArgs) this.errorf(`${name} has arguments but cannot be invoked as function`);
        return value === undefined ? null : value;
      }
    }
    return this.errorf(`can't evaluate field ${name} in type ${typ}`);
  }

  private callMethod(
    dot: unknown,
    receiver: object,
    method: (...a: unknown[]) => unknown,
    node: AnyNode,
    name: string,
    args: ArgNode[],
    final: Final,
  ): unknown {
    // A declared JS arity is checked like a Go method signature; zero means "any number".
    const fn: TemplateFunc =
      method.length > 0
        ? { params: new Array<'any'>(method.length).fill('any'), fn: (a) => method.apply(receiver, a) }
        : { params: [], variadic: 'any', fn: (a) => method.apply(receiver, a) };
    return this.evalCall(dot, fn, node, name, args, final);
  }

  private evalFunction(dot: unknown, node: IdentifierNode, cmd: AnyNode, args: ArgNode[], final: Final): unknown {
    this.at(node);
    const fn = this.host.findFunction(node.name);
    if (!fn) this.errorf(`${JSON.stringify(node.name)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.name, args, final);
  }

  private evalCall(dot: unknown, fn: TemplateFunc, node: AnyNode, name: string, args: ArgNode[], final: Final): unknown {
    const actual = args.slice(1);
    const numIn = actual.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    if (fn.lazy) {
      let v: unknown = undefined;
      for (const a of actual) {
        v = this.evalArg(dot, 'value', a);
        if (isTrue(v) === (fn.lazy === 'or')) return v;
      }
      if (final !== MISSING) v = final;
      return v;
    }
    const typeAt = (i: number): ParamType => (i < numFixed ? fn.params[i]! : fn.variadic!);
    const argv = actual.map((a, i) => this.evalArg(dot, typeAt(i), a));
    if (final !== MISSING) argv.push(this.validateType(final, typeAt(numIn - 1)));
    this.at(node);
    let result: unknown;
    try {
      result = fn.fn(argv, this.ctx);
    } catch (e) {
      if (e === BREAK || e === CONTINUE) throw e;
      const msg = e instanceof Error ? e.message : String(e);
      this.at(node);
      this.errorf(`error calling ${name}: ${msg}`, e);
    }
    return result === undefined ? null : result;
  }

  private evalArg(dot: unknown, typ: ParamType, n: ArgNode): unknown {
    this.at(n);
    switch (n.kind) {
      case 'dot':
        return this.validateType(dot, typ);
      case 'nil':
        if (typ === 'any' || typ === 'value' || typ === 'map' || typ === 'list') return null;
        return this.errorf(`cannot assign nil to ${GO_TYPE_NAMES[typ]}`);
      case 'field':
        return this.validateType(this.evalFieldNode(dot, n, [n], MISSING), typ);
      case 'variable':
        return this.validateType(this.evalVariableNode(dot, n, [], MISSING), typ);
      case 'pipe':
        return this.validateType(this.evalPipeline(dot, n), typ);
      case 'identifier':
        return this.validateType(this.evalFunction(dot, n, n, [n], MISSING), typ);
      case 'chain':
        return this.validateType(this.evalChainNode(dot, n, [], MISSING), typ);
    }
    switch (typ) {
      case 'bool':
        if (n.kind === 'bool') return n.value;
        return this.errorf(`expected bool; found ${nodeString(n)}`);
      case 'int':
        if (n.kind === 'number' && n.int !== undefined) return n.int;
        return this.errorf(`expected integer; found ${nodeString(n)}`);
      case 'float':
        if (n.kind === 'number' && n.float !== undefined) return n.float;
        return this.errorf(`expected float; found ${nodeString(n)}`);
      case 'string':
        if (n.kind === 'string') return n.text;
        return this.errorf(`expected string; found ${nodeString(n)}`);
      case 'any':
      case 'value':
        switch (n.kind) {
          case 'bool':
            return n.value;
          case 'number':
            return n.ideal;
          case 'string':
            return n.text;
        }
    }
    return this.errorf(`can't handle ${nodeString(n)} for arg of type ${GO_TYPE_NAMES[typ]}`);
  }

  private validateType(value: unknown, typ: ParamType): unknown {
    if (value === undefined) {
      if (typ === 'value') return undefined;
      if (typ === 'any' || typ === 'map' || typ === 'list') return null;
      return this.errorf(`invalid value; expected ${GO_TYPE_NAMES[typ]}`);
    }
    let ok: boolean;
    switch (typ) {
      case 'any':
      case 'value':
        return value;
      case 'string':
        ok = typeof value === 'string';
        break;
      case 'int':
        ok = isInt(value);
        break;
      case 'float':
        ok = isFloat(value);
        break;
      case 'bool':
        ok = typeof value === 'boolean';
        break;
      case 'map':
        ok = isGoMap(value);
        break;
      case 'list':
        ok = Array.isArray(value);
        break;
    }
    if (!ok) {
      const got = value === null ? 'interface {}' : typeName(value);
      this.errorf(`wrong type for value; expected ${GO_TYPE_NAMES[typ]}; got ${got}`);
    }
    return typ === 'float' && typeof value !== 'number' ? (value as { value: number }).value : value;
  }
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
