// How Go values are represented in JS, and the Go rules (truth, kinds, type names) over them.
//
// Representation (chosen so YAML-parsed data can be passed in unchanged):
//   undefined           Go's invalid reflect.Value ("no value": a missing map key). Printed "<no value>".
//   null                a nil interface{} (a YAML `~`, a nil map). Printed "<nil>" inside fmt.
//   boolean             bool
//   number, integral    int (int64 too: the engine does not tell int from int64)
//   number, fractional  float64
//   GoFloat             float64 whose value happens to be integral (`1.0`, `1e6`, `mulf 2 3`, JSON
//                       numbers); kept apart so `{{ 1e6 }}` prints `1e+06` and `%d` rejects it like Go.
//   string              string (Go strings are bytes: len/index/slice/substr count UTF-8 bytes)
//   Array               []interface{}
//   plain object        map[string]interface{} (prototype Object.prototype or null)
//   Map                 map with arbitrary keys (read-only support)
//   function            func
//   any other object    a struct pointer: properties are fields, functions are methods (`.Files.Get`)
//   GoTime              time.Time

/** A Go float64 whose value must print and compare as a float even when integral. */
export class GoFloat {
  constructor(readonly value: number) {}
  toString(): string {
    return String(this.value);
  }
}

/** A Go time.Time: an instant plus the zone it is displayed in (UTC, Local or an IANA name). */
export class GoTime {
  constructor(
    readonly ms: number,
    readonly zone: string = 'Local',
    readonly nanos: number = 0,
  ) {}
}

/** time.Time{}: January 1, year 1, 00:00:00 UTC */
export const ZERO_TIME = new GoTime(new Date(0).setUTCFullYear(1, 0, 1), 'UTC');

export type GoMap = Record<string, unknown>;

export function isGoMap(v: unknown): v is GoMap {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

export function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

export function isFloat(v: unknown): boolean {
  return v instanceof GoFloat || (typeof v === 'number' && !Number.isInteger(v));
}

function isNumber(v: unknown): boolean {
  return typeof v === 'number' || v instanceof GoFloat;
}

/** The numeric value of an int or float. */
export function num(v: unknown): number {
  return v instanceof GoFloat ? v.value : (v as number);
}

/** A float64 result: tagged when integral so it keeps printing as a float. */
export function float(n: number): number | GoFloat {
  return Number.isInteger(n) ? new GoFloat(n) : n;
}

/** A struct-like object: not a map, list, time or float. */
/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
export function isTrue(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  switch (typeof v) {
    case 'boolean':
      return v;
    case 'number':
      return v !== 0;
    case 'string':
      return v.length > 0;
    case 'function':
      return true;
    default:
      if (v instanceof GoFloat) return v.value !== 0;
      if (Array.isArray(v)) return v.length > 0;
      if (v instanceof Map) return v.size > 0;
      if (isGoMap(v)) return hasAnyKey(v);
      return true;
  }
}

function hasAnyKey(m: GoMap): boolean {
  for (const _ in m) return true;
  return false;
}

/** reflect.Kind names as sprig's kindOf reports them. */
export function kindOf(v: unknown): string {
  if (v === undefined || v === null) return 'invalid';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float64';
    case 'string':
      return 'string';
    case 'function':
      return 'func';
    default:
      if (v instanceof GoFloat) return 'float64';
      if (Array.isArray(v)) return 'slice';
      if (v instanceof Map || isGoMap(v)) return 'map';
      if (v instanceof GoTime) return 'struct';
      return 'ptr';
  }
}

/** Go's %T names for our values. */
export function typeName(v: unknown): string {
  if (v === undefined || v === null) return '<nil>';
  switch (typeof v) {
    case 'boolean':
      return 'bool';
    case 'number':
      return Number.isInteger(v) ? 'int' : 'float64';
    case 'string':
      return 'string';
    case 'function':
      return 'func(...interface {}) (interface {}, error)';
    default:
      if (v instanceof GoFloat) return 'float64';
      if (Array.isArray(v)) return '[]interface {}';
      if (v instanceof Map) return 'map[interface {}]interface {}';
      if (isGoMap(v)) return 'map[string]interface {}';
      if (v instanceof GoTime) return 'time.Time';
      return '*' + ((v as object).constructor?.name || 'struct');
  }
}

/** Keys of a map in Go's sorted order (fmt and range both sort map keys). */
export function sortedKeys(m: GoMap): string[] {
  return Object.keys(m).sort(compareStrings);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorted entries of a JS Map: numbers numerically, everything else by string form. */
export function sortedMapEntries(m: Map<unknown, unknown>): [unknown, unknown][] {
  return [...m.entries()].sort(([a], [b]) => {
    if (typeof a === 'number' && typeof b === 'number') return a - b;
    return compareStrings(String(a), String(b));
  });
}

/** Number of UTF-8 bytes: Go's len of a string. */
export function byteLength(s: string): number {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(s) ? s.length : Buffer.byteLength(s, 'utf8');
}

/** Go's s[start:end] on the UTF-8 bytes of s. */
export function byteSlice(s: string, start: number, end?: number): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(s)) return s.slice(start, end);
  return Buffer.from(s, 'utf8').subarray(start, end).toString('utf8');
}

/** reflect.DeepEqual over our values (int and float64 are different types). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === undefined) a = null;
  if (b === undefined) b = null;
  if (isNumber(a) || isNumber(b)) {
    return isNumber(a) && isNumber(b) && isFloat(a) === isFloat(b) && num(a) === num(b);
  }
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isGoMap(a)) {
    if (!isGoMap(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  if (a instanceof GoTime && b instanceof GoTime) return a.ms === b.ms && a.nanos === b.nanos && a.zone === b.zone;
  return false;
}
