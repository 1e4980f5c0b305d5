// Expression evaluation of the template executor (text/template/exec.go, second half): pipelines,
// commands, field/method/map lookup, function calls and argument type checks. ExecState adds walking.
import {
  nodeString,
  type AnyNode,
  type ArgNode,
  type ChainNode,
  type CommandNode,
  type FieldNode,
  type IdentifierNode,
  type PipeNode,
  type VariableNode,
} from './ast.js';
import { GO_TYPE_NAMES, type CallContext, type ParamType, type TemplateFunc } from './func-types.js';
import { timeMethod } from './go-time.js';
import { position, type Tree } from './parser.js';
import { TemplateError } from './template-error.js';
import type { NestedOutput } from './line-map.js';
import { GoTime, isFloat, isGoMap, isInt, isTrue, typeName } from './value.js';

/** Marks "no final pipeline value", unlike undefined which is Go's invalid value. */
export const MISSING: unique symbol = Symbol('missing');
export type Final = unknown;

export const BREAK = Symbol('break');
export const CONTINUE = Symbol('continue');

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

interface Variable {
  name: string;
  value: unknown;
}

export abstract class Evaluator {
  protected readonly vars: Variable[];
  protected node: AnyNode | undefined;
  protected abstract readonly ctx: CallContext;

  constructor(
    protected readonly host: ExecHost,
    protected readonly tree: Tree,
    dot: unknown,
  ) {
    this.vars = [{ name: '$', value: dot }];
  }

  /** `cause` keeps a failed function's error (and a nested template's) for callers that explain it. */
  errorf(msg: string, cause?: unknown): never {
    const name = this.tree.name;
    if (!this.node) {
      throw new TemplateError(`template: ${name}: ${msg}`, { templateName: this.tree.parseName, line: 0, cause });
    }
    const { line, column } = position(this.tree.text, this.node.pos);
    throw new TemplateError(`template: ${this.tree.parseName}:${line}:${column}: executing ${JSON.stringify(name)} at <${nodeString(this.node)}>: ${msg}`, {
      templateName: this.tree.parseName,
      line,
      column,
      cause,
    });
  }

  protected at(n: AnyNode): void {
    this.node = n;
  }

  // ---- variables ----

  protected setVar(name: string, value: unknown): void {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) {
        this.vars[i]!.value = value;
        return;
      }
    }
    this.errorf(`undefined variable: ${name}`);
  }

  protected varValue(name: string): unknown {
    for (let i = this.vars.length - 1; i >= 0; i--) {
      if (this.vars[i]!.name === name) return this.vars[i]!.value;
    }
    return this.errorf(`undefined variable: ${name}`);
  }

  protected evalPipeline(dot: unknown, pipe: PipeNode | undefined): unknown {
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

  protected evalCommand(dot: unknown, cmd: CommandNode, final: Final): unknown {
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

  protected notAFunction(args: ArgNode[], final: Final): void {
    if (args.length > 1 || final !== MISSING) {
      this.errorf(`can't give argument to non-function ${nodeString(args[0]!)}`);
    }
  }

  protected evalFieldNode(dot: unknown, field: FieldNode, args: ArgNode[], final: Final): unknown {
    this.at(field);
    return this.evalFieldChain(dot, dot, field, field.idents, args, final);
  }

  protected evalChainNode(dot: unknown, chain: ChainNode, args: ArgNode[], final: Final): unknown {
    if (chain.node.kind === 'nil') this.errorf(`indirection through explicit nil in ${nodeString(chain)}`);
    const pipe = this.evalArg(dot, 'value', chain.node);
    return this.evalFieldChain(dot, pipe, chain, chain.fields, args, final);
  }

  protected evalVariableNode(dot: unknown, v: VariableNode, args: ArgNode[], final: Final): unknown {
    this.at(v);
    const value = this.varValue(v.idents[0]!);
    if (v.idents.length === 1) {
      this.notAFunction(args, final);
      return value;
    }
    return this.evalFieldChain(dot, value, v, v.idents.slice(1), args, final);
  }

  protected evalFieldChain(dot: unknown, receiver: unknown, node: AnyNode, idents: string[], args: ArgNode[], final: Final): unknown {
    let iface = false;
    const n = idents.length;
    for (let i = 0; i < n - 1; i++) {
      receiver = this.evalField(dot, idents[i]!, node, [], MISSING, receiver, iface);
      iface = true;
    }
    return this.evalField(dot, idents[n - 1]!, node, args, final, receiver, iface);
  }

  protected evalField(dot: unknown, name: string, node: AnyNode, args: ArgNode[], final: Final, receiver: unknown, iface: boolean): unknown {
    if (receiver === undefined) return undefined;
    const typ = iface ? 'interface {}' : typeName(receiver);
    if (receiver === null) this.errorf(`nil pointer evaluating ${typ}.${name}`);
    const hasArgs = args.length > 1 || final !== MISSING;
    if (receiver instanceof GoTime) {
      const m = timeMethod(receiver, name);
      if (m) return this.evalCall(dot, m, node, name, args, final);
    } else if (isGoMap(receiver)) {
      const has = Object.hasOwn(receiver, name);
      const value = has ? receiver[name] : undefined;
      // A JS function stored in a map is called like a method (callers' data such as Files).
      if (typeof value === 'function') {
        return this.callMethod(dot, receiver, value as (...a: unknown[]) => unknown, node, name, args, final);
      }
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return has ? (value === undefined ? null : value) : undefined;
    } else if (receiver instanceof Map) {
      if (hasArgs) this.errorf(`${name} is not a method but has arguments`);
      return receiver.has(name) ? (receiver.get(name) ?? null) : undefined;
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

  protected callMethod(
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

  protected evalFunction(dot: unknown, node: IdentifierNode, cmd: AnyNode, args: ArgNode[], final: Final): unknown {
    this.at(node);
    const fn = this.host.findFunction(node.name);
    if (!fn) this.errorf(`${JSON.stringify(node.name)} is not a defined function`);
    return this.evalCall(dot, fn, cmd, node.name, args, final);
  }

  protected evalCall(dot: unknown, fn: TemplateFunc, node: AnyNode, name: string, args: ArgNode[], final: Final): unknown {
    const actual = args.slice(1);
    const numIn = actual.length + (final !== MISSING ? 1 : 0);
    const numFixed = fn.params.length;
    if (fn.variadic) {
      if (numIn < numFixed) this.errorf(`wrong number of args for ${name}: want at least ${numFixed} got ${numIn}`);
    } else if (numIn !== numFixed) {
      this.errorf(`wrong number of args for ${name}: want ${numFixed} got ${numIn}`);
    }
    if (fn.lazy) {
      let v: unknown;
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

  protected evalArg(dot: unknown, typ: ParamType, n: ArgNode): unknown {
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

  protected validateType(value: unknown, typ: ParamType): unknown {
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
