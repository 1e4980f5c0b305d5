// Go text/template's predefined functions (and, or, not, len, index, slice, print*, html, js,
// urlquery, call, eq, ne, lt, le, gt, ge) with Go's errors and comparison type rules.
import { sprint, sprintf, sprintln } from './fmt.js';
import { isPrint } from './go-quote.js';
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { FuncError } from './template-error.js';
import { byteLength, byteSlice, isFloat, isGoMap, isInt, isTrue, num, typeName } from './value.js';

type Basic = 'bool' | 'int' | 'float' | 'string' | 'invalid';

function basicKind(v: unknown): Basic {
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'string') return 'string';
  if (isInt(v)) return 'int';
  if (isFloat(v)) return 'float';
  return 'invalid';
}

function isNil(v: unknown): boolean {
  return v === undefined || v === null;
}

function goEq(a: unknown, ...rest: unknown[]): boolean {
  if (rest.length === 0) throw new FuncError('missing argument for comparison');
  const k1 = basicKind(a);
  for (const b of rest) {
    const k2 = basicKind(b);
    let truth = false;
    if (k1 !== k2) {
      if (!isNil(a) && !isNil(b)) throw new FuncError('incompatible types for comparison');
    } else if (k1 !== 'invalid') {
      truth = k1 === 'float' ? num(a) === num(b) : a === b;
    } else if (isNil(a) || isNil(b)) {
      truth = isNil(a) === isNil(b);
    } else {
      for (const v of [a, b]) {
        if (Array.isArray(v) || isGoMap(v) || v instanceof Map || typeof v === 'function') {
          throw new FuncError(`non-comparable type ${sprintf('%s', [v])}: ${typeName(v)}`);
        }
      }
      truth = a === b;
    }
    if (truth) return true;
  }
  return false;
}

function goLt(a: unknown, b: unknown): boolean {
  const k1 = basicKind(a);
  const k2 = basicKind(b);
  if (k1 === 'invalid' || k2 === 'invalid') throw new FuncError('invalid type for comparison');
  if (k1 !== k2) throw new FuncError('incompatible types for comparison');
  if (k1 === 'bool') throw new FuncError('invalid type for comparison');
  if (k1 === 'string') return (a as string) < (b as string);
  return num(a) < num(b);
}

function indexArg(index: unknown, size: number): number {
  if (isNil(index)) throw new FuncError('cannot index slice/array with nil');
  if (!isInt(index)) throw new FuncError(`cannot index slice/array with type ${typeName(index)}`);
  if (index < 0 || index > size) throw new FuncError(`index out of range: ${index}`);
  return index;
}

function goIndex(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('index of untyped nil');
  for (const index of indexes) {
    if (item === null || item === undefined) throw new FuncError('index of nil pointer');
    if (typeof item === 'string') {
      const bytes = Buffer.from(item, 'utf8');
      const x = indexArg(index, bytes.length);
      if (x === bytes.length) throw new FuncError('reflect: string index out of range');
      item = bytes[x];
    } else if (Array.isArray(item)) {
      const x = indexArg(index, item.length);
      if (x === item.length) throw new FuncError('reflect: slice index out of range');
      item = item[x] === undefined ? null : item[x];
    } else if (isGoMap(item)) {
      if (isNil(index)) throw new FuncError('value is nil; should be of type string');
      if (typeof index !== 'string') throw new FuncError(`value has type ${typeName(index)}; should be string`);
      item = Object.hasOwn(item, index) ? (item[index] ?? null) : null;
    } else if (item instanceof Map) {
      item = item.has(index) ? (item.get(index) ?? null) : null;
    } else {
      throw new FuncError(`can't index item of type ${typeName(item)}`);
    }
  }
  return item;
}

function goSlice(item: unknown, ...indexes: unknown[]): unknown {
  if (isNil(item)) throw new FuncError('slice of untyped nil');
  if (indexes.length > 3) throw new FuncError(`too many slice indexes: ${indexes.length}`);
  let len: number;
  if (typeof item === 'string') {
    if (indexes.length === 3) throw new FuncError('cannot 3-index slice a string');
    len = byteLength(item);
  } else if (Array.isArray(item)) {
    len = item.length;
  } else {
    throw new FuncError(`can't slice item of type ${typeName(item)}`);
  }
  const idx = [0, len, len];
  indexes.forEach((x, i) => {
    idx[i] = indexArg(x, len);
  });
  if (idx[0]! > idx[1]!) throw new FuncError(`invalid slice index: ${idx[0]} > ${idx[1]}`);
  if (indexes.length === 3 && idx[1]! > idx[2]!) throw new FuncError(`invalid slice index: ${idx[1]} > ${idx[2]}`);
  return typeof item === 'string' ? byteSlice(item, idx[0]!, idx[1]) : (item as unknown[]).slice(idx[0], idx[1]);
}

function goLen(item: unknown): number {
  if (item === undefined) throw new FuncError('reflect: call of reflect.Value.Type on zero Value');
  if (item === null) throw new FuncError('len of nil pointer');
  if (typeof item === 'string') return byteLength(item);
  if (Array.isArray(item)) return item.length;
  if (item instanceof Map) return item.size;
  if (isGoMap(item)) return Object.keys(item).length;
  throw new FuncError(`len of type ${typeName(item)}`);
}

/** text/template's evalArgs: a single string as is, otherwise fmt.Sprint with <no value> for nil. */
function evalArgs(args: unknown[]): string {
  if (args.length === 1 && typeof args[0] === 'string') return args[0];
  return sprint(args.map((a) => (isNil(a) ? '<no value>' : a)));
}

function htmlEscape(s: string): string {
  return s.replace(/[<>&'"\0]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : c === "'" ? '&#39;' : c === '"' ? '&#34;' : '\uFFFD'));
}

function jsEscape(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    switch (ch) {
      case '\\':
        out += '\\\\';
        continue;
      case "'":
        out += "\\'";
        continue;
      case '"':
        out += '\\"';
        continue;
      case '<':
        out += '\\u003C';
        continue;
      case '>':
        out += '\\u003E';
        continue;
      case '&':
        out += '\\u0026';
        continue;
      case '=':
        out += '\\u003D';
        continue;
    }
    if (c < 0x20) out += '\\u00' + c.toString(16).toUpperCase().padStart(2, '0');
    else if (c < 0x80 || isPrint(c)) out += ch;
    else out += '\\u' + c.toString(16).toUpperCase().padStart(4, '0');
  }
  return out;
}

/** url.QueryEscape */
function queryEscape(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c;
    else if (c === ' ') out += '+';
    else out += '%' + b.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

function goCall(fn: unknown, ...args: unknown[]): unknown {
  if (isNil(fn)) throw new FuncError('call of nil');
  if (typeof fn !== 'function') throw new FuncError(`non-function of type ${typeName(fn)}`);
  return (fn as (...a: unknown[]) => unknown)(...args.map((a) => (a === undefined ? null : a)));
}

export const BUILTINS: Record<string, TemplateFunc> = {
  and: { params: ['value'], variadic: 'value', lazy: 'and', fn: () => undefined },
  or: { params: ['value'], variadic: 'value', lazy: 'or', fn: () => undefined },
  not: fixed(['value'], (v) => !isTrue(v)),
  call: variadic(['value'], 'value', (fn, args) => goCall(fn, ...args)),
  html: variadic([], 'any', (args) => htmlEscape(evalArgs(args))),
  js: variadic([], 'any', (args) => jsEscape(evalArgs(args))),
  urlquery: variadic([], 'any', (args) => queryEscape(evalArgs(args))),
  index: variadic(['value'], 'value', (item, idx) => goIndex(item, ...idx)),
  slice: variadic(['value'], 'value', (item, idx) => goSlice(item, ...idx)),
  len: fixed(['value'], goLen),
  print: variadic([], 'any', (args) => sprint(args)),
  printf: variadic(['string'], 'any', (format, args) => sprintf(format, args)),
  println: variadic([], 'any', (args) => sprintln(args)),
  eq: variadic(['value'], 'value', (a, rest) => goEq(a, ...rest)),
  ne: fixed(['value', 'value'], (a, b) => !goEq(a, b)),
  lt: fixed(['value', 'value'], (a, b) => goLt(a, b)),
  le: fixed(['value', 'value'], (a, b) => goLt(a, b) || goEq(a, b)),
  gt: fixed(['value', 'value'], (a, b) => !(goLt(a, b) || goEq(a, b))),
  ge: fixed(['value', 'value'], (a, b) => !goLt(a, b)),
};
