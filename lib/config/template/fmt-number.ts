// Go's strconv float and integer formatting (FormatFloat 'e' 'f' 'g' 'x' 'b', shortest and fixed
// precision), exact and rounded half-to-even like Go rather than JS's half-up toFixed.

interface Decimal {
  /** significant digits without trailing zeros; "" for zero */
  d: string;
  /** decimal point position: value = 0.d × 10^dp */
  dp: number;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** x (finite, > 0) as mant × 2^exp with integral mant. */
function decompose(x: number): { mant: bigint; exp: number } {
  f64[0] = x;
  const bits = u64[0] as bigint;
  const e = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & 0xfffffffffffffn;
  if (e === 0) return { mant: frac, exp: -1074 };
  return { mant: frac | (1n << 52n), exp: e - 1075 };
}

/** round_half_even(x × 10^k) for finite x > 0. */
function scaledRound(x: number, k: number): bigint {
  const { mant, exp } = decompose(x);
  let num = mant;
  let den = 1n;
  if (exp >= 0) num <<= BigInt(exp);
  else den <<= BigInt(-exp);
  if (k >= 0) num *= 10n ** BigInt(k);
  else den *= 10n ** BigInt(-k);
  const q = num / den;
  const r2 = (num % den) * 2n;
  if (r2 > den || (r2 === den && (q & 1n) === 1n)) return q + 1n;
  return q;
}

function trimZeros(s: string): string {
  let end = s.length;
  while (end > 0 && s.charCodeAt(end - 1) === 48) end--;
  return s.slice(0, end);
}

function shortest(x: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const [m = '', e = '0'] = x.toExponential().split('e');
  return { d: trimZeros(m.replace('.', '')), dp: Number(e) + 1 };
}

/** x rounded to n significant digits. */
function significant(x: number, n: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  let e10 = Number(x.toExponential().split('e')[1]);
  let s = scaledRound(x, n - 1 - e10).toString();
  if (s.length > n) {
    s = s.slice(0, n);
    e10++;
  } else if (s.length < n) {
    // x.toExponential() rounded up across a power of ten; the exact value is one decade lower.
    e10--;
    s = scaledRound(x, n - 1 - e10).toString();
  }
  return { d: trimZeros(s), dp: e10 + 1 };
}

/** x rounded to p digits after the decimal point. */
function fixed(x: number, p: number): Decimal {
  if (x === 0) return { d: '', dp: 0 };
  const s = scaledRound(x, p).toString();
  if (s === '0') return { d: '', dp: 0 };
  return { d: trimZeros(s), dp: s.length - p };
}

function fmtE(digs: Decimal, prec: number, e: string): string {
  let out = digs.d.length === 0 ? '0' : digs.d[0]!;
  if (prec > 0) {
    out += '.';
    const frac = digs.d.slice(1, 1 + prec);
    out += frac + '0'.repeat(prec - frac.length);
  }
  let exp = digs.d.length === 0 ? 0 : digs.dp - 1;
  const sign = exp < 0 ? '-' : '+';
  if (exp < 0) exp = -exp;
  return out + e + sign + (exp < 10 ? '0' + exp : String(exp));
}

function fmtF(digs: Decimal, prec: number): string {
  let out: string;
  if (digs.dp > 0) {
    const m = Math.min(digs.d.length, digs.dp);
    out = digs.d.slice(0, m) + '0'.repeat(digs.dp - m);
  } else {
    out = '0';
  }
  if (prec > 0) {
    out += '.';
    for (let i = 1; i <= prec; i++) {
      const j = digs.dp + i - 1;
      out += j >= 0 && j < digs.d.length ? digs.d[j] : '0';
    }
  }
  return out;
}

/** strconv.FormatFloat(x, verb, prec, 64); prec < 0 means shortest. */
export function formatFloat(x: number, verb: string, prec: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return '+Inf';
  if (x === -Infinity) return '-Inf';
  const neg = x < 0 || Object.is(x, -0);
  const a = Math.abs(x);
  const sign = neg ? '-' : '';
  switch (verb) {
    case 'e':
    case 'E': {
      const digs = prec < 0 ? shortest(a) : significant(a, prec + 1);
      const p = prec < 0 ? Math.max(digs.d.length - 1, 0) : prec;
      return sign + fmtE(digs, p, verb);
    }
    case 'f':
    case 'F': {
      const digs = prec < 0 ? shortest(a) : fixed(a, prec);
      const p = prec < 0 ? Math.max(digs.d.length - digs.dp, 0) : prec;
      return sign + fmtF(digs, p);
    }
    case 'g':
    case 'G': {
      let p = prec;
      let digs: Decimal;
      if (p < 0) {
        digs = shortest(a);
        p = digs.d.length;
      } else {
        if (p === 0) p = 1;
        digs = significant(a, p);
      }
      let eprec = p;
      if (eprec > digs.d.length && digs.d.length >= digs.dp) eprec = digs.d.length;
      if (prec < 0) eprec = 6;
      const exp = digs.dp - 1;
      if (exp < -4 || exp >= eprec) {
        if (p > digs.d.length) p = digs.d.length;
        return sign + fmtE(digs, Math.max(p - 1, 0), verb === 'g' ? 'e' : 'E');
      }
      if (p > digs.dp) p = digs.d.length;
      return sign + fmtF(digs, Math.max(p - digs.dp, 0));
    }
    case 'x':
    case 'X':
      return sign + hexFloat(a, verb);
    case 'b': {
      if (a === 0) return sign + '0p-1074';
      const { mant, exp } = decompose(a);
      return sign + mant.toString() + 'p' + (exp >= 0 ? '+' : '') + exp;
    }
    default:
      return '%' + verb;
  }
}

function hexFloat(a: number, verb: string): string {
  if (a === 0) return verb === 'x' ? '0x0p+00' : '0X0P+00';
  let { mant, exp } = decompose(a);
  while (mant < 1n << 52n) {
    mant <<= 1n;
    exp--;
  }
  exp += 52;
  const frac = trimZeros((mant & ((1n << 52n) - 1n)).toString(16).padStart(13, '0'));
  const e = Math.abs(exp);
  let out = '0x1' + (frac ? '.' + frac : '') + 'p' + (exp < 0 ? '-' : '+') + (e < 10 ? '0' + e : String(e));
  if (verb === 'X') out = out.toUpperCase();
  return out;
}
