// sprig's string functions (strings.go, functions.go), with Go's byte-based substr/trunc and
// xstrings v1.4 / goutils behaviour for camelcase, snakecase, untitle, wrap and abbrev.
import { quote } from './go-quote.js';
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { strslice, strval, toInt64 } from './sprig-convert.js';
import { FuncError } from './template-error.js';
import { byteLength, byteSlice } from './value.js';

const isConnector = (c: string): boolean => c === '-' || c === '_' || /\s/u.test(c);

/** xstrings.ToCamelCase (v1.4): connectors removed, the letter after them upper-cased. */
function camelcase(s: string): string {
  const runes = [...s];
  let out = '';
  let i = 0;
  while (i < runes.length && isConnector(runes[i]!)) out += runes[i++];
  let prevConnector = false;
  let first = true;
  for (; i < runes.length; i++) {
    const c = runes[i]!;
    if (first) {
      out += c.toUpperCase();
      first = false;
      continue;
    }
    const next = runes[i + 1];
    if (isConnector(c)) {
      // a run of connectors keeps all but the last; trailing connectors are kept
      if (next === undefined || isConnector(next)) out += c;
      prevConnector = true;
      continue;
    }
    out += prevConnector ? c.toUpperCase() : c;
    prevConnector = false;
  }
  return out;
}

/** Splits identifiers into words: connectors, lower→Upper, acronym→Word and letter→digit boundaries. */
function words(s: string): string[] {
  return s
    .split(/[-_\s]+/u)
    .flatMap((w) => w.match(/\p{Lu}+(?=\p{Lu}\p{Ll})|\p{Lu}?\p{Ll}+\d*|\p{Lu}+\d*|\d+\p{L}*\d*\p{L}*|[^\p{L}\d]+/gu) ?? [])
    .filter((w) => w !== '');
}

function caseJoin(s: string, sep: string): string {
  return words(s)
    .map((w) => w.toLowerCase())
    .join(sep);
}

/** strings.Title: upper-case letters that start a word. */
function title(s: string): string {
  let prev = ' ';
  let out = '';
  for (const c of s) {
    const sep = !/[\p{L}\p{N}_]/u.test(prev);
    out += sep ? c.toUpperCase() : c;
    prev = c;
  }
  return out;
}

/** goutils.Uncapitalize: lower-case the first letter of each whitespace-separated word. */
function untitle(s: string): string {
  let prevSpace = true;
  let out = '';
  for (const c of s) {
    out += prevSpace ? c.toLowerCase() : c;
    prevSpace = /\s/u.test(c);
  }
  return out;
}

function swapcase(s: string): string {
  let out = '';
  for (const c of s) {
    const u = c.toUpperCase();
    out += c === u ? c.toLowerCase() : u;
  }
  return out;
}

/** goutils.Abbreviate */
function abbrev(width: number, s: string): string {
  if (width < 4) return s;
  if (byteLength(s) <= width) return s;
  return byteSlice(s, 0, width - 3) + '...';
}

/** goutils.AbbreviateFull */
function abbrevboth(left: number, right: number, s: string): string {
  if (right < 4 || (left > 0 && right < 7)) return s;
  const len = byteLength(s);
  if (len <= right) return s;
  let offset = Math.min(left, len);
  if (len - offset < right - 3) offset = len - (right - 3);
  if (offset <= 4) return byteSlice(s, 0, right - 3) + '...';
  if (offset + right - 3 < len) return '...' + abbrev(right - 3, byteSlice(s, offset));
  return '...' + byteSlice(s, len - (right - 3));
}

/** goutils.WrapCustom: greedy wrapping at spaces; long words are kept whole unless wrapLong. */
function wrapCustom(s: string, width: number, newline: string, wrapLong: boolean): string {
  if (width < 1) width = 1;
  const lines: string[] = [];
  for (const para of s.split('\n')) {
    let rest = para;
    while (rest.length > width) {
      if (rest[0] === ' ') {
        rest = rest.slice(1);
        continue;
      }
      let cut = rest.lastIndexOf(' ', width);
      if (cut > 0) {
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut + 1);
      } else if (wrapLong) {
        lines.push(rest.slice(0, width));
        rest = rest.slice(width);
      } else {
        cut = rest.indexOf(' ', width);
        if (cut < 0) break;
        lines.push(rest.slice(0, cut));
        rest = rest.slice(cut + 1);
      }
    }
    lines.push(rest);
  }
  return lines.join(newline);
}

function substr(start: number, end: number, s: string): string {
  const len = byteLength(s);
  if (start < 0) return byteSlice(s, 0, end);
  if (end < 0 || end > len) return byteSlice(s, start);
  return byteSlice(s, start, end);
}

function trunc(c: number, s: string): string {
  const len = byteLength(s);
  if (c < 0 && len + c > 0) return byteSlice(s, len + c);
  if (c >= 0 && len > c) return byteSlice(s, 0, c);
  return s;
}

function initials(s: string): string {
  return s
    .split(/\s+/u)
    .filter((w) => w !== '')
    .map((w) => [...w][0])
    .join('');
}

function indent(spaces: number, v: string): string {
  const pad = ' '.repeat(Math.max(spaces, 0));
  return pad + v.split('\n').join('\n' + pad);
}

export function stringFunctions(): Record<string, TemplateFunc> {
  return {
    hello: fixed([], () => 'Hello!'),
    abbrev: fixed(['int', 'string'], abbrev),
    abbrevboth: fixed(['int', 'int', 'string'], abbrevboth),
    trunc: fixed(['int', 'string'], trunc),
    trim: fixed(['string'], (s) => s.replace(/^\s+|\s+$/gu, '')),
    upper: fixed(['string'], (s) => s.toUpperCase()),
    lower: fixed(['string'], (s) => s.toLowerCase()),
    title: fixed(['string'], title),
    untitle: fixed(['string'], untitle),
    substr: fixed(['int', 'int', 'string'], substr),
    repeat: {
      params: ['int', 'string'],
      fn: ([count, str], ctx) => {
        const n = count as number;
        const s = str as string;
        if (n < 0) throw new FuncError('strings: negative Repeat count');
        if (n * byteLength(s) > ctx.maxOutputBytes) {
          throw new FuncError(`result of ${n} repetitions exceeds the output limit of ${ctx.maxOutputBytes} bytes`);
        }
        return s.repeat(n);
      },
    },
    trimall: fixed(['string', 'string'], (cut, s) => trimSet(s, cut)),
    trimAll: fixed(['string', 'string'], (cut, s) => trimSet(s, cut)),
    trimSuffix: fixed(['string', 'string'], (suf, s) => (suf !== '' && s.endsWith(suf) ? s.slice(0, -suf.length) : s)),
    trimPrefix: fixed(['string', 'string'], (pre, s) => (s.startsWith(pre) ? s.slice(pre.length) : s)),
    nospace: fixed(['string'], (s) => s.replace(/\s/gu, '')),
    initials: fixed(['string'], initials),
    swapcase: fixed(['string'], swapcase),
    snakecase: fixed(['string'], (s) => caseJoin(s, '_')),
    camelcase: fixed(['string'], camelcase),
    kebabcase: fixed(['string'], (s) => caseJoin(s, '-')),
    wrap: fixed(['int', 'string'], (l, s) => wrapCustom(s, l, '\n', false)),
    wrapWith: fixed(['int', 'string', 'string'], (l, sep, s) => wrapCustom(s, l, sep, true)),
    contains: fixed(['string', 'string'], (sub, s) => s.includes(sub)),
    hasPrefix: fixed(['string', 'string'], (p, s) => s.startsWith(p)),
    hasSuffix: fixed(['string', 'string'], (p, s) => s.endsWith(p)),
    quote: variadic([], 'any', (args) =>
      args
        .filter((a) => a !== null)
        .map((a) => quote(strval(a)))
        .join(' '),
    ),
    squote: variadic([], 'any', (args) =>
      args
        .filter((a) => a !== null)
        .map((a) => `'${strval(a)}'`)
        .join(' '),
    ),
    cat: variadic([], 'any', (args) =>
      args
        .filter((a) => a !== null)
        .map(strval)
        .join(' '),
    ),
    indent: fixed(['int', 'string'], indent),
    nindent: fixed(['int', 'string'], (n, v) => '\n' + indent(n, v)),
    replace: fixed(['string', 'string', 'string'], (o, n, s) => replaceAll(s, o, n)),
    plural: fixed(['string', 'string', 'int'], (one, many, count) => (count === 1 ? one : many)),
    toString: fixed(['any'], strval),
    split: fixed(['string', 'string'], (sep, s) => {
      const out: Record<string, string> = {};
      goSplit(s, sep, -1).forEach((p, i) => {
        out['_' + i] = p;
      });
      return out;
    }),
    splitList: fixed(['string', 'string'], (sep, s) => goSplit(s, sep, -1)),
    splitn: fixed(['string', 'int', 'string'], (sep, n, s) => {
      const out: Record<string, string> = {};
      goSplit(s, sep, n).forEach((p, i) => {
        out['_' + i] = p;
      });
      return out;
    }),
    toStrings: fixed(['any'], strslice),
    join: fixed(['string', 'any'], (sep, v) => strslice(v).join(sep)),
    sortAlpha: fixed(['any'], (v) => {
      if (!Array.isArray(v)) return [strval(v)];
      return strslice(v).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    }),
    atoi: fixed(['string'], (s) => (/^[+-]?\d+$/.test(s) ? toInt64(s) : 0)),
  };
}

/** strings.Trim(s, cutset) */
function trimSet(s: string, cutset: string): string {
  const set = new Set(cutset);
  const chars = [...s];
  let a = 0;
  let b = chars.length;
  while (a < b && set.has(chars[a]!)) a++;
  while (b > a && set.has(chars[b - 1]!)) b--;
  return chars.slice(a, b).join('');
}

/** strings.Replace(s, old, new, -1), including Go's behaviour for an empty old. */
function replaceAll(s: string, o: string, n: string): string {
  if (o === '') return n + [...s].join(n) + (s === '' ? '' : n);
  return s.split(o).join(n);
}

/** strings.SplitN (n < 0: all); an empty separator splits into UTF-8 sequences. */
function goSplit(s: string, sep: string, n: number): string[] {
  if (n === 0) return [];
  if (sep === '') {
    const chars = [...s];
    if (n < 0 || n >= chars.length) return chars;
    return [...chars.slice(0, n - 1), chars.slice(n - 1).join('')];
  }
  const parts = s.split(sep);
  if (n < 0 || parts.length <= n) return parts;
  return [...parts.slice(0, n - 1), parts.slice(n - 1).join(sep)];
}
