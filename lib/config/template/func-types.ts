// How template functions declare their Go parameter types, so arguments are checked and
// converted the way text/template's reflection does ("wrong type for value; expected string; got int").
import type { GoMap } from './value.js';

/**
 * Go parameter types a function can declare:
 *   any     interface{} (a missing value arrives as null)
 *   value   reflect.Value (raw: a missing value arrives as undefined; used by Go's builtins)
 *   string, int (int or int64), float (float64), bool
 *   map     map[string]interface{} (or null), list []interface{} (or null)
 */
export type ParamType = 'any' | 'value' | 'string' | 'int' | 'float' | 'bool' | 'map' | 'list';

/** What a function can reach while it runs (used by include and tpl). */
export interface CallContext {
  /** Executes a named template of the set with data, one level deeper. */
  execute(name: string, data: unknown): string;
  /** Parses text into the set under a generated name and returns that name. */
  parseTemplate(text: string): string;
  readonly maxOutputBytes: number;
}

export interface TemplateFunc {
  params: readonly ParamType[];
  variadic?: ParamType;
  /** Receives converted arguments; throws to fail the call ("error calling NAME: message"). */
  fn: (args: unknown[], ctx: CallContext) => unknown;
  /** and/or: arguments are evaluated lazily by the executor */
  lazy?: 'and' | 'or';
}

type TypeOf<P> = P extends 'string'
  ? string
  : P extends 'int' | 'float'
    ? number
    : P extends 'bool'
      ? boolean
      : P extends 'map'
        ? GoMap | null
        : P extends 'list'
          ? unknown[] | null
          : unknown;

type Args<P extends readonly ParamType[]> = { -readonly [K in keyof P]: TypeOf<P[K]> };

/** A function with fixed parameters. */
export function fixed<const P extends readonly ParamType[]>(params: P, impl: (...args: Args<P>) => unknown): TemplateFunc {
  return { params, fn: (args) => (impl as (...a: unknown[]) => unknown)(...args) };
}

/** A function whose last parameter is variadic (...T). */
export function variadic<const P extends readonly ParamType[], const V extends ParamType>(
  params: P,
  rest: V,
  impl: (...args: [...Args<P>, TypeOf<V>[]]) => unknown,
): TemplateFunc {
  const n = params.length;
  return {
    params,
    variadic: rest,
    fn: (args) => (impl as (...a: unknown[]) => unknown)(...args.slice(0, n), args.slice(n)),
  };
}

/** A function that needs the call context. */
export function withContext<const P extends readonly ParamType[]>(params: P, impl: (ctx: CallContext, ...args: Args<P>) => unknown): TemplateFunc {
  return { params, fn: (args, ctx) => (impl as (...a: unknown[]) => unknown)(ctx, ...args) };
}

/** A plain JS function supplied by a caller: any number of interface{} arguments. */
export function fromJsFunction(f: (...args: unknown[]) => unknown): TemplateFunc {
  return { params: [], variadic: 'any', fn: (args) => f(...args) };
}

export const GO_TYPE_NAMES: Record<ParamType, string> = {
  any: 'interface {}',
  value: 'reflect.Value',
  string: 'string',
  int: 'int',
  float: 'float64',
  bool: 'bool',
  map: 'map[string]interface {}',
  list: '[]interface {}',
};
