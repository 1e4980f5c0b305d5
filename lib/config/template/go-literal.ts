// Go literal syntax used by templates: strconv.Unquote for strings and character constants and
// strconv.ParseInt/ParseFloat (base 0, underscores) for number constants.
import type { NumberNode } from './ast.js';
import { GoFloat } from './value.js';

const SIMPLE_ESCAPES: Record<string, number> = { a: 7, b: 8, f: 12, n: 10, r: 13, t: 9, v: 11, '\\': 92 };

/** Decodes the escape at s[i] (just after the backslash). */
function decodeEscape(s: string, i: number, q: string): { value: number; isByte: boolean; next: number } {
  const c = s[i];
  if (c === undefined) throw new Error('invalid syntax');
  const simple = SIMPLE_ESCAPES[c];
  if (simple !== undefined) return { value: simple, isByte: false, next: i + 1 };
  if (c === "'" || c === '"') {
    if (c !== q) throw new Error('invalid syntax');
    return { value: c.charCodeAt(0), isByte: false, next: i + 1 };
  }
  const hex = (n: number): number => {
    const h = s.slice(i + 1, i + 1 + n);
    if (h.length !== n || !/^[0-9a-fA-F]+$/.test(h)) throw new Error('invalid syntax');
    return parseInt(h, 16);
  };
  switch (c) {
    case 'x':
      return { value: hex(2), isByte: true, next: i + 3 };
    case 'u': {
      const v = hex(4);
      if (v >= 0xd800 && v <= 0xdfff) throw new Error('invalid syntax');
      return { value: v, isByte: false, next: i + 5 };
    }
    case 'U': {
      const v = hex(8);
      if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) throw new Error('invalid syntax');
      return { value: v, isByte: false, next: i + 9 };
    }
  }
  if (c >= '0' && c <= '7') {
    const o = s.slice(i, i + 3);
    if (!/^[0-7]{3}$/.test(o)) throw new Error('invalid syntax');
    const v = parseInt(o, 8);
    if (v > 255) throw new Error('invalid syntax');
    return { value: v, isByte: true, next: i + 3 };
  }
  throw new Error('invalid syntax');
}

/** strconv.Unquote for "..." and `...` literals. */
export function unquoteString(lit: string): string {
  if (lit[0] === '`') return lit.slice(1, -1).replace(/\r/g, '');
  const body = lit.slice(1, -1);
  if (!body.includes('\\')) return body;
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const ch = body[i]!;
    if (ch !== '\\') {
      const cp = body.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(s, 'utf8'));
      i += s.length;
      continue;
    }
    const e = decodeEscape(body, i + 1, '"');
    if (e.isByte) bytes.push(e.value);
    else bytes.push(...Buffer.from(String.fromCodePoint(e.value), 'utf8'));
    i = e.next;
  }
  return Buffer.from(bytes).toString('utf8');
}

/** The rune value of a character constant such as 'a' or '\n'. */
function unquoteChar(lit: string): number {
  const body = lit.slice(1, -1);
  if (body.length === 0) throw new Error('invalid syntax');
  let value: number;
  let next: number;
  if (body[0] === '\\') {
    const e = decodeEscape(body, 1, "'");
    value = e.value;
    next = e.next;
  } else {
    value = body.codePointAt(0)!;
    next = String.fromCodePoint(value).length;
  }
  if (next !== body.length) throw new Error(`malformed character constant: ${lit}`);
  return value;
}

/** Go's underscoreOK: underscores only between digits or after a base prefix. */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s[0] === '+' || s[0] === '-') s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0' && /[bBoOxX]/.test(s[1]!)) {
    i = 2;
    saw = '0';
    hex = s[1] === 'x' || s[1] === 'X';
  }
  for (; i < s.length; i++) {
    const c = s[i]!;
    if ((c >= '0' && c <= '9') || (hex && /[a-fA-F]/.test(c))) {
      saw = '0';
      continue;
    }
    if (c === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** strconv.ParseInt(text, 0, 64), or undefined. */
export function parseGoInt(text: string): number | undefined {
  let s = text;
  let neg = false;
  if (s[0] === '+' || s[0] === '-') {
    neg = s[0] === '-';
    s = s.slice(1);
  }
  if (s === '') return undefined;
  let base = 10;
  let digits = s;
  if (s[0] === '0' && s.length > 1) {
    const p = s[1]!.toLowerCase();
    if (p === 'x') [base, digits] = [16, s.slice(2)];
    else if (p === 'o') [base, digits] = [8, s.slice(2)];
    else if (p === 'b') [base, digits] = [2, s.slice(2)];
    else [base, digits] = [8, s.slice(1)];
  }
  if (digits.includes('_')) {
    if (!underscoreOK(text)) return undefined;
    digits = digits.replace(/_/g, '');
  }
  if (digits === '') return undefined;
  const valid = { 2: /^[01]+$/, 8: /^[0-7]+$/, 10: /^[0-9]+$/, 16: /^[0-9a-fA-F]+$/ }[base as 2 | 8 | 10 | 16];
  if (!valid.test(digits)) return undefined;
  let v = 0n;
  const b = BigInt(base);
  for (const d of digits) v = v * b + BigInt(parseInt(d, base));
  if (neg) v = -v;
  if (v > 9223372036854775807n || v < -9223372036854775808n) return undefined;
  return Number(v);
}

/** strconv.ParseFloat(text, 64), or undefined. */
export function parseGoFloat(text: string): number | undefined {
  let s = text;
  if (s.includes('_')) {
    if (!underscoreOK(s)) return undefined;
    s = s.replace(/_/g, '');
  }
  const hex = /^([+-]?)0[xX]([0-9a-fA-F]*)(?:\.([0-9a-fA-F]*))?[pP]([+-]?\d+)$/.exec(s);
  if (hex) {
    const [, sign, int = '', frac = '', exp = '0'] = hex;
    if (int === '' && frac === '') return undefined;
    const mant = parseInt(int + frac || '0', 16);
    const v = mant * 2 ** (Number(exp) - 4 * frac.length);
    return sign === '-' ? -v : v;
  }
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

/** parse.newNumber plus exec's idealConstant, for a number or character token. */
export function numberNode(pos: number, text: string, isChar: boolean): NumberNode {
  if (isChar) {
    const r = unquoteChar(text);
    return { kind: 'number', pos, text, ideal: r, int: r, float: r };
  }
  if (text.endsWith('i')) throw new Error(`complex constants are not supported: ${JSON.stringify(text)}`);
  let int = parseGoInt(text);
  let flt: number | undefined;
  if (int !== undefined) {
    flt = int;
  } else {
    flt = parseGoFloat(text);
    if (flt !== undefined) {
      if (!/[.eEpP]/.test(text)) throw new Error(`integer overflow: ${JSON.stringify(text)}`);
      if (Number.isInteger(flt) && Math.abs(flt) < 2 ** 63) int = flt;
    }
  }
  if (int === undefined && flt === undefined) throw new Error(`illegal number syntax: ${JSON.stringify(text)}`);
  const hexInt = /^[+-]?0[xX]/.test(text) && !/[pP]/.test(text);
  let ideal: number | GoFloat;
  if (flt !== undefined && !hexInt && /[.eEpP]/.test(text)) ideal = Number.isInteger(flt) ? new GoFloat(flt) : flt;
  else ideal = int!;
  const node: NumberNode = { kind: 'number', pos, text, ideal };
  if (int !== undefined) node.int = int;
  if (flt !== undefined) node.float = flt;
  return node;
}
