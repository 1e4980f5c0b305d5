// Conversions sprig applies to interface{} arguments: strval, strslice, empty and spf13/cast's
// ToInt64/ToFloat64 (strings parsed with base prefixes, floats truncated, bad input gives 0).
import { formatValue } from './fmt.js';
import { parseGoFloat, parseGoInt } from './go-literal.js';
import { FuncError } from './template-error.js';
import { GoFloat, isTrue, kindOf, num } from './value.js';

/** sprig's strval: strings as is, everything else through fmt's %v. */
export function strval(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v instanceof Error) return v.message;
  return formatValue(v === undefined ? null : v);
}

/** sprig's strslice: lists become []string (nil elements dropped), nil is [], a scalar is [v]. */
export function strslice(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x) => x !== null && x !== undefined).map(strval);
  if (v === null || v === undefined) return [];
  return [strval(v)];
}

/** sprig's empty: Go's zero values and empty containers. */
export function isEmpty(v: unknown): boolean {
  return !isTrue(v);
}

function trimZeroDecimal(s: string): string {
  const m = /^([^.]*)\.0+$/.exec(s);
  return m ? m[1]! : s;
}

/** cast.ToInt64 */
export function toInt64(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || v instanceof GoFloat) return Math.trunc(num(v));
  if (typeof v === 'string') return parseGoInt(trimZeroDecimal(v)) ?? 0;
  return 0;
}

/** cast.ToFloat64 */
export function toFloat64(v: unknown): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'number' || v instanceof GoFloat) return num(v);
  if (typeof v === 'string') return parseGoFloat(v) ?? parseGoInt(v) ?? 0;
  return 0;
}

/** A list argument of sprig's list functions; anything else fails like sprig ("Cannot X on type T"). */
export function asList(v: unknown, what: string): unknown[] {
  if (Array.isArray(v)) return v;
  if (v === null || v === undefined) {
    throw new FuncError('runtime error: invalid memory address or nil pointer dereference');
  }
  throw new FuncError(`${what} ${kindOf(v)}`);
}
