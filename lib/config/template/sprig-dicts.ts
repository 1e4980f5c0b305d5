// sprig's dict functions (dict.go): dict, get/set/unset/hasKey, pluck, keys/values, pick/omit,
// dig, deepCopy and mergo-style merge/mergeOverwrite (deep for nested maps, mutating dst).
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { isEmpty, strval } from './sprig-convert.js';
import { FuncError } from './template-error.js';
import { GoFloat, GoTime, isGoMap, sortedKeys, typeName, type GoMap } from './value.js';

function needMap(d: GoMap | null): GoMap {
  if (d === null) throw new FuncError('assignment to entry in nil map');
  return d;
}

/** mergo.Merge / mergo.Merge(WithOverride) into dst, as sprig's merge and mergeOverwrite use them. */
function mergeInto(dst: GoMap, src: GoMap, overwrite: boolean): void {
  for (const key of Object.keys(src)) {
    const sv = src[key];
    const has = Object.hasOwn(dst, key);
    const dv = has ? dst[key] : undefined;
    if (sv === null || sv === undefined) {
      if (overwrite) dst[key] = null;
      continue;
    }
    if (isGoMap(sv) && isGoMap(dv)) {
      mergeInto(dv, sv, overwrite);
    }
    if (has && !isEmpty(dv) && (isGoMap(sv) || Array.isArray(sv))) continue;
    if (overwrite || !has || isEmpty(dv)) dst[key] = sv;
  }
}

/** copystructure.Copy over template values. */
export function deepCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(deepCopy);
  if (isGoMap(v)) {
    const out: GoMap = {};
    for (const k of Object.keys(v)) out[k] = deepCopy(v[k]);
    return out;
  }
  if (v instanceof GoFloat || v instanceof GoTime) return v;
  return v;
}

function dig(ps: unknown[]): unknown {
  if (ps.length < 3) throw new FuncError('dig needs at least three arguments');
  let dict = ps[ps.length - 1];
  const def = ps[ps.length - 2];
  const keys = ps.slice(0, -2);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i];
    if (typeof k !== 'string') throw new FuncError(`interface conversion: interface {} is ${typeName(k)}, not string`);
    if (!isGoMap(dict)) {
      throw new FuncError(`interface conversion: interface {} is ${typeName(dict)}, not map[string]interface {}`);
    }
    if (!Object.hasOwn(dict, k)) return def;
    dict = dict[k];
    if (i === keys.length - 1) return dict;
  }
  return def;
}

function mergeAll(overwrite: boolean) {
  return (dst: GoMap | null, srcs: (GoMap | null)[]): GoMap => {
    const d = dst ?? {};
    for (const s of srcs) if (s) mergeInto(d, s, overwrite);
    return d;
  };
}

export function dictFunctions(): Record<string, TemplateFunc> {
  return {
    dict: variadic([], 'any', (v) => {
      const out: GoMap = {};
      for (let i = 0; i < v.length; i += 2) out[strval(v[i])] = i + 1 < v.length ? v[i + 1] : '';
      return out;
    }),
    get: fixed(['map', 'string'], (d, k) => (d && Object.hasOwn(d, k) ? d[k] : '')),
    set: fixed(['map', 'string', 'any'], (d, k, v) => {
      needMap(d)[k] = v;
      return d;
    }),
    unset: fixed(['map', 'string'], (d, k) => {
      if (d) delete d[k];
      return d;
    }),
    hasKey: fixed(['map', 'string'], (d, k) => d !== null && Object.hasOwn(d, k)),
    pluck: variadic(['string'], 'map', (name, ds) => ds.filter((d) => d && Object.hasOwn(d, name)).map((d) => d![name])),
    // Go's map order is random; sorted order is one of the possible outcomes and is stable.
    keys: variadic([], 'map', (ds) => ds.flatMap((d) => (d ? sortedKeys(d) : []))),
    values: fixed(['map'], (d) => (d ? sortedKeys(d).map((k) => d[k]) : [])),
    pick: variadic(['map'], 'string', (d, ks) => {
      const out: GoMap = {};
      for (const k of ks) if (d && Object.hasOwn(d, k)) out[k] = d[k];
      return out;
    }),
    omit: variadic(['map'], 'string', (d, ks) => {
      const out: GoMap = {};
      for (const k of Object.keys(d ?? {})) if (!ks.includes(k)) out[k] = d![k];
      return out;
    }),
    dig: variadic([], 'any', dig),
    merge: variadic(['map'], 'map', mergeAll(false)),
    mustMerge: variadic(['map'], 'map', mergeAll(false)),
    mergeOverwrite: variadic(['map'], 'map', mergeAll(true)),
    mustMergeOverwrite: variadic(['map'], 'map', mergeAll(true)),
    deepCopy: fixed(['any'], deepCopy),
    mustDeepCopy: fixed(['any'], (v) => {
      if (v === null) throw new FuncError('copy: Nil value');
      return deepCopy(v);
    }),
  };
}
