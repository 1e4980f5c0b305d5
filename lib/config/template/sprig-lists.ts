// sprig's list functions (list.go) and integer sequences (until, untilStep, seq), with the
// must* variants; errors and nil results follow sprig (e.g. first of an empty list is nil).
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { asList, isEmpty, toInt64 } from './sprig-convert.js';
import { FuncError } from './template-error.js';
import { deepEqual, kindOf } from './value.js';

/** Longest list until/untilStep/seq may build (sprig has no limit; Node would run out of memory). */
const MAX_SEQUENCE = 10_000_000;

export function untilStep(start: number, stop: number, step: number): number[] {
  const out: number[] = [];
  const push = (i: number): void => {
    if (out.length >= MAX_SEQUENCE) throw new FuncError(`sequence longer than ${MAX_SEQUENCE} elements`);
    out.push(i);
  };
  if (stop < start) {
    if (step >= 0) return out;
    for (let i = start; i > stop; i += step) push(i);
    return out;
  }
  if (step <= 0) return out;
  for (let i = start; i < stop; i += step) push(i);
  return out;
}

function seq(params: number[]): string {
  const join = (l: number[]): string => l.join(' ');
  switch (params.length) {
    case 0:
      return '';
    case 1: {
      const end = params[0]!;
      const inc = end < 1 ? -1 : 1;
      return join(untilStep(1, end + inc, inc));
    }
    case 2: {
      const [start, end] = params as [number, number];
      const step = end < start ? -1 : 1;
      return join(untilStep(start, end + step, step));
    }
    case 3: {
      const [start, step, end] = params as [number, number, number];
      let inc = 1;
      if (end < start) {
        inc = -1;
        if (step > 0) return '';
      }
      return join(untilStep(start, end + inc, step));
    }
    default:
      return '';
  }
}

function inList(list: unknown[], v: unknown): boolean {
  return list.some((x) => deepEqual(x, v));
}

const ops = {
  push: (list: unknown, v: unknown): unknown[] => [...asList(list, 'Cannot push on type'), v],
  prepend: (list: unknown, v: unknown): unknown[] => [v, ...asList(list, 'Cannot prepend on type')],
  first: (list: unknown): unknown => {
    const l = asList(list, 'Cannot find first on type');
    return l.length === 0 ? null : l[0];
  },
  last: (list: unknown): unknown => {
    const l = asList(list, 'Cannot find last on type');
    return l.length === 0 ? null : l[l.length - 1];
  },
  rest: (list: unknown): unknown => {
    const l = asList(list, 'Cannot find rest on type');
    return l.length === 0 ? null : l.slice(1);
  },
  initial: (list: unknown): unknown => {
    const l = asList(list, 'Cannot find initial on type');
    return l.length === 0 ? null : l.slice(0, -1);
  },
  reverse: (list: unknown): unknown[] => [...asList(list, 'Cannot find reverse on type')].reverse(),
  compact: (list: unknown): unknown[] => asList(list, 'Cannot compact on type').filter((x) => !isEmpty(x)),
  uniq: (list: unknown): unknown[] => {
    const out: unknown[] = [];
    for (const x of asList(list, 'Cannot find uniq on type')) if (!inList(out, x)) out.push(x);
    return out;
  },
  without: (list: unknown, omit: unknown[]): unknown[] => asList(list, 'Cannot find without on type').filter((x) => !inList(omit, x)),
  has: (needle: unknown, haystack: unknown): boolean => {
    if (haystack === null || haystack === undefined) return false;
    if (!Array.isArray(haystack)) throw new FuncError(`Cannot find has on type ${kindOf(haystack)}`);
    return inList(haystack, needle);
  },
  slice: (list: unknown, indices: unknown[]): unknown => {
    if (!Array.isArray(list)) {
      throw new FuncError(`list should be type of slice or array but ${list === null ? 'invalid' : kindOf(list)}`);
    }
    if (list.length === 0) return null;
    const start = indices.length > 0 ? toInt64(indices[0]) : 0;
    const end = indices.length > 1 ? toInt64(indices[1]) : list.length;
    if (start < 0 || end > list.length || start > end) {
      throw new FuncError(`runtime error: slice bounds out of range [${start}:${end}]`);
    }
    return list.slice(start, end);
  },
  chunk: (size: number, list: unknown): unknown[][] => {
    const l = asList(list, 'Cannot chunk type');
    if (size <= 0) throw new FuncError('runtime error: integer divide by zero');
    const out: unknown[][] = [];
    for (let i = 0; i < l.length; i += size) out.push(l.slice(i, i + size));
    return out;
  },
};

export function listFunctions(): Record<string, TemplateFunc> {
  const lists: Record<string, TemplateFunc> = {
    list: variadic([], 'any', (v) => v),
    tuple: variadic([], 'any', (v) => v),
    until: fixed(['int'], (n) => untilStep(0, n, n < 0 ? -1 : 1)),
    untilStep: fixed(['int', 'int', 'int'], untilStep),
    seq: variadic([], 'int', seq),
    append: fixed(['any', 'any'], ops.push),
    push: fixed(['any', 'any'], ops.push),
    prepend: fixed(['any', 'any'], ops.prepend),
    first: fixed(['any'], ops.first),
    last: fixed(['any'], ops.last),
    rest: fixed(['any'], ops.rest),
    initial: fixed(['any'], ops.initial),
    reverse: fixed(['any'], ops.reverse),
    compact: fixed(['any'], ops.compact),
    uniq: fixed(['any'], ops.uniq),
    without: variadic(['any'], 'any', ops.without),
    has: fixed(['any', 'any'], ops.has),
    slice: variadic(['any'], 'any', ops.slice),
    chunk: fixed(['int', 'any'], ops.chunk),
    concat: variadic([], 'any', (lists) => {
      const out: unknown[] = [];
      for (const l of lists) {
        if (!Array.isArray(l)) throw new FuncError(`Cannot concat type ${kindOf(l)} as list`);
        out.push(...l);
      }
      return out;
    }),
  };
  // The must* variants return the error instead of panicking; in a template both fail the call.
  for (const name of ['append', 'push', 'prepend', 'first', 'last', 'rest', 'initial', 'reverse', 'compact', 'uniq', 'without', 'has', 'slice', 'chunk']) {
    const f = lists[name]!;
    lists['must' + name[0]!.toUpperCase() + name.slice(1)] = f;
  }
  return lists;
}
