// sprig's math (numeric.go): int64 arithmetic through cast.ToInt64 (so floats truncate and
// numeric strings parse), the float64 *f family, conversions and random integers.
import { randomInt } from 'node:crypto';
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { toFloat64, toInt64 } from './sprig-convert.js';
import { FuncError } from './template-error.js';
import { float, type GoFloat } from './value.js';

/** Go's int64 wraps around; keep results integral at least. */
function i64(n: number): number {
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

function div(a: number, b: number): number {
  if (b === 0) throw new FuncError('runtime error: integer divide by zero');
  return i64(a / b);
}

function mod(a: number, b: number): number {
  if (b === 0) throw new FuncError('runtime error: integer divide by zero');
  return i64(a % b);
}

function roundTo(v: number, places: number, roundOn: number): number {
  const pow = 10 ** places;
  const digit = pow * v;
  const frac = digit - Math.trunc(digit);
  const r = frac >= roundOn ? Math.ceil(digit) : Math.floor(digit);
  return r / pow;
}

/** A decimal m × 10^e: sprig's *f arithmetic goes through shopspring/decimal, so 0.1+0.2 is 0.3. */
interface Dec {
  m: bigint;
  e: number;
}

function dec(x: number): Dec {
  if (!Number.isFinite(x) || x === 0) return { m: 0n, e: 0 };
  const [mant = '0', exp = '0'] = x.toExponential().split('e');
  const digits = mant.replace('.', '').replace('-', '');
  return { m: BigInt((x < 0 ? '-' : '') + digits), e: Number(exp) - (digits.length - 1) };
}

function align(a: Dec, b: Dec): [bigint, bigint, number] {
  const e = Math.min(a.e, b.e);
  return [a.m * 10n ** BigInt(a.e - e), b.m * 10n ** BigInt(b.e - e), e];
}

const decOps = {
  add: (a: Dec, b: Dec): Dec => {
    const [x, y, e] = align(a, b);
    return { m: x + y, e };
  },
  sub: (a: Dec, b: Dec): Dec => {
    const [x, y, e] = align(a, b);
    return { m: x - y, e };
  },
  mul: (a: Dec, b: Dec): Dec => ({ m: a.m * b.m, e: a.e + b.e }),
  div: (a: Dec, b: Dec): Dec => {
    if (b.m === 0n) throw new FuncError('decimal division by 0');
    // 16 fractional digits, rounded half away from zero (decimal.DivisionPrecision).
    const shift = a.e - b.e + 17;
    let num = a.m;
    let den = b.m;
    if (shift >= 0) num *= 10n ** BigInt(shift);
    else den *= 10n ** BigInt(-shift);
    let q = num / den;
    const neg = q < 0n || (q === 0n && num < 0n !== den < 0n);
    const last = (q < 0n ? -q : q) % 10n;
    q /= 10n;
    if (last >= 5n) q += neg ? -1n : 1n;
    return { m: q, e: -16 };
  },
};

function decToNumber(d: Dec): number {
  return Number(`${d.m}e${d.e}`);
}

function decimalFold(op: keyof typeof decOps): TemplateFunc {
  return variadic(['any'], 'any', (a, xs): number | GoFloat =>
    float(decToNumber(xs.reduce<Dec>((acc, x) => decOps[op](acc, dec(toFloat64(x))), dec(toFloat64(a))))),
  );
}

export function mathFunctions(): Record<string, TemplateFunc> {
  return {
    add1: fixed(['any'], (a) => toInt64(a) + 1),
    add: variadic([], 'any', (xs) => i64(xs.reduce<number>((s, x) => s + toInt64(x), 0))),
    sub: fixed(['any', 'any'], (a, b) => i64(toInt64(a) - toInt64(b))),
    mul: variadic(['any'], 'any', (a, xs) => i64(xs.reduce<number>((p, x) => p * toInt64(x), toInt64(a)))),
    div: fixed(['any', 'any'], (a, b) => div(toInt64(a), toInt64(b))),
    mod: fixed(['any', 'any'], (a, b) => mod(toInt64(a), toInt64(b))),
    max: variadic(['any'], 'any', (a, xs) => xs.reduce<number>((m, x) => Math.max(m, toInt64(x)), toInt64(a))),
    biggest: variadic(['any'], 'any', (a, xs) => xs.reduce<number>((m, x) => Math.max(m, toInt64(x)), toInt64(a))),
    min: variadic(['any'], 'any', (a, xs) => xs.reduce<number>((m, x) => Math.min(m, toInt64(x)), toInt64(a))),
    add1f: fixed(['any'], (a) => float(decToNumber(decOps.add(dec(toFloat64(a)), dec(1))))),
    addf: variadic([], 'any', (xs) => float(decToNumber(xs.reduce<Dec>((s, x) => decOps.add(s, dec(toFloat64(x))), dec(0))))),
    subf: decimalFold('sub'),
    mulf: decimalFold('mul'),
    divf: decimalFold('div'),
    maxf: variadic(['any'], 'any', (a, xs) => float(xs.reduce<number>((m, x) => Math.max(m, toFloat64(x)), toFloat64(a)))),
    minf: variadic(['any'], 'any', (a, xs) => float(xs.reduce<number>((m, x) => Math.min(m, toFloat64(x)), toFloat64(a)))),
    ceil: fixed(['any'], (a) => float(Math.ceil(toFloat64(a)))),
    floor: fixed(['any'], (a) => float(Math.floor(toFloat64(a)))),
    round: variadic(['any', 'int'], 'float', (a, p, r) => float(roundTo(toFloat64(a), p, r.length > 0 ? r[0]! : 0.5))),
    int64: fixed(['any'], toInt64),
    int: fixed(['any'], toInt64),
    float64: fixed(['any'], (a) => float(toFloat64(a))),
    toDecimal: fixed(['any'], (a) => {
      const s = typeof a === 'string' ? a : String(toInt64(a));
      return /^[+-]?[0-7]+$/.test(s) ? parseInt(s, 8) : 0;
    }),
    randInt: fixed(['int', 'int'], (min, max) => {
      if (max <= min) throw new FuncError('invalid argument to Intn');
      return min + randomInt(max - min);
    }),
  };
}
