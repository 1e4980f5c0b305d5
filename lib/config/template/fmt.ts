// Go's fmt: Sprintf, Sprint and Sprintln over template values, including %!verb(type=value)
// diagnostics, map key sorting and nested %v of lists and maps.
import { noFlags, pad, type Flags } from './fmt-flags.js';
import { formatFloat } from './fmt-number.js';
import { canBackquote, isPrint, quote, quoteRune } from './go-quote.js';
import { formatTime } from './go-time.js';
import { GoFloat, GoTime, isGoMap, isInt, num, sortedKeys, sortedMapEntries, typeName } from './value.js';

const PLAIN = noFlags();

/** fmt.Sprint: spaces between operands when neither side is a string. */
export function sprint(args: readonly unknown[]): string {
  let out = '';
  let prevString = false;
  args.forEach((arg, i) => {
    const isString = typeof arg === 'string';
    if (i > 0 && !isString && !prevString) out += ' ';
    out += printArg(arg, 'v', PLAIN);
    prevString = isString;
  });
  return out;
}

/** fmt.Sprintln: always spaces, trailing newline. */
export function sprintln(args: readonly unknown[]): string {
  return args.map((a) => printArg(a, 'v', PLAIN)).join(' ') + '\n';
}

/** fmt.Sprint of one value (%v). */
export function formatValue(v: unknown): string {
  return printArg(v, 'v', PLAIN);
}

export function sprintf(format: string, args: readonly unknown[]): string {
  let out = '';
  let argNum = 0;
  let reordered = false;
  const end = format.length;
  let i = 0;
  while (i < end) {
    const pct = format.indexOf('%', i);
    if (pct < 0) {
      out += format.slice(i);
      break;
    }
    out += format.slice(i, pct);
    i = pct + 1;
    const f = noFlags();
    flags: for (; i < end; i++) {
      switch (format[i]) {
        case '#':
          f.sharp = true;
          break;
        case '0':
          f.zero = !f.minus;
          break;
        case '+':
          f.plus = true;
          break;
        case '-':
          f.minus = true;
          f.zero = false;
          break;
        case ' ':
          f.space = true;
          break;
        default:
          break flags;
      }
    }
    // argument index [n]
    let afterIndex = false;
    const readIndex = (): void => {
      if (format[i] !== '[') return;
      reordered = true;
      const close = format.indexOf(']', i);
      const n = close < 0 ? NaN : Number(format.slice(i + 1, close));
      if (close < 0 || !/^\d+$/.test(format.slice(i + 1, close)) || n < 1 || n > args.length) {
        badIndex = true;
        i = close < 0 ? end : close + 1;
        return;
      }
      argNum = n - 1;
      i = close + 1;
      afterIndex = true;
    };
    let badIndex = false;
    readIndex();
    if (format[i] === '*') {
      i++;
      const w = args[argNum];
      argNum++;
      if (isInt(w)) {
        f.wid = w;
        f.widPresent = true;
        if (w < 0) {
          f.minus = true;
          f.zero = false;
          f.wid = -w;
        }
      } else {
        out += '%!(BADWIDTH)';
      }
      afterIndex = false;
    } else {
      const start = i;
      while (i < end && format[i]! >= '0' && format[i]! <= '9') i++;
      if (i > start) {
        f.wid = Number(format.slice(start, i));
        f.widPresent = true;
      }
    }
    if (format[i] === '.') {
      i++;
      if (afterIndex) badIndex = true;
      readIndex();
      if (format[i] === '*') {
        i++;
        const p = args[argNum];
        argNum++;
        if (isInt(p) && p >= 0) {
          f.prec = p;
          f.precPresent = true;
        } else {
          out += '%!(BADPREC)';
        }
        afterIndex = false;
      } else {
        const start = i;
        while (i < end && format[i]! >= '0' && format[i]! <= '9') i++;
        f.prec = i > start ? Number(format.slice(start, i)) : 0;
        f.precPresent = true;
      }
    }
    if (!afterIndex) readIndex();
    if (i >= end) {
      out += '%!(NOVERB)';
      break;
    }
    const cp = format.codePointAt(i)!;
    const verb = String.fromCodePoint(cp);
    i += verb.length;
    if (verb === 'v') {
      // %+v and %#v select struct-field and Go syntax; they do not sign numbers
      f.plusV = f.plus;
      f.plus = false;
    }
    if (verb === '%') {
      out += '%';
    } else if (badIndex) {
      out += '%!' + verb + '(BADINDEX)';
    } else if (argNum >= args.length) {
      out += '%!' + verb + '(MISSING)';
    } else {
      out += printArg(args[argNum], verb, f);
      argNum++;
    }
  }
  if (!reordered && argNum < args.length) {
    out += '%!(EXTRA ';
    out += args
      .slice(argNum)
      .map((a) => (a === null || a === undefined ? '<nil>' : typeName(a) + '=' + printArg(a, 'v', PLAIN)))
      .join(', ');
    out += ')';
  }
  return out;
}

function badVerb(arg: unknown, verb: string): string {
  if (arg === null || arg === undefined) return '%!' + verb + '(<nil>)';
  return '%!' + verb + '(' + typeName(arg) + '=' + printArg(arg, 'v', PLAIN) + ')';
}

function printArg(arg: unknown, verb: string, f: Flags, depth = 0): string {
  if (arg === null || arg === undefined) {
    if (verb === 'T' || verb === 'v') return pad('<nil>', f, false);
    if (depth > 0) return '<nil>';
    return badVerb(arg, verb);
  }
  if (verb === 'T') return pad(typeName(arg), f);
  switch (typeof arg) {
    case 'boolean':
      return verb === 't' || verb === 'v' ? pad(String(arg), f) : badVerb(arg, verb);
    case 'number':
      return Number.isInteger(arg) ? fmtInteger(arg, verb, f) : fmtFloatVerb(arg, verb, f);
    case 'string':
      return fmtString(arg, verb, f);
    case 'function':
      return verb === 'v' || verb === 'p' ? pad('0x1', f) : badVerb(arg, verb);
  }
  if (arg instanceof GoFloat) return fmtFloatVerb(arg.value, verb, f);
  if (arg instanceof GoTime) return fmtString(formatTime(arg, '2006-01-02 15:04:05.999999999 -0700 MST'), verb, f);
  if (Array.isArray(arg)) {
    if (f.sharp && verb === 'v') {
      return '[]interface {}{' + arg.map((e) => goSyntax(e)).join(', ') + '}';
    }
    if (verb === 's' || verb === 'q' || verb === 'x' || verb === 'X' || verb === 'v' || verb === 'd') {
      return '[' + arg.map((e) => printArg(e, verb, f, depth + 1)).join(' ') + ']';
    }
    return '[' + arg.map((e) => printArg(e, verb, f, depth + 1)).join(' ') + ']';
  }
  if (arg instanceof Map) {
    const parts = sortedMapEntries(arg).map(([k, v]) => printArg(k, verb, f, depth + 1) + ':' + printArg(v, verb, f, depth + 1));
    return 'map[' + parts.join(' ') + ']';
  }
  if (isGoMap(arg)) {
    if (f.sharp && verb === 'v') return goSyntax(arg);
    const parts = sortedKeys(arg).map((k) => printArg(k, verb, f, depth + 1) + ':' + printArg(arg[k], verb, f, depth + 1));
    return 'map[' + parts.join(' ') + ']';
  }
  // fmt.Stringer (e.g. a semver version)
  const str = (arg as { String?: unknown }).String;
  if (typeof str === 'function') return fmtString(String(str.call(arg)), verb, f);
  // A struct: Go prints {field values}.
  const values = Object.values(arg as object).filter((v) => typeof v !== 'function');
  return '{' + values.map((v) => printArg(v, verb, f, depth + 1)).join(' ') + '}';
}

function goSyntax(v: unknown): string {
  if (v === null || v === undefined) return 'interface {}(nil)';
  if (typeof v === 'string') return quote(v);
  if (Array.isArray(v)) return '[]interface {}{' + v.map(goSyntax).join(', ') + '}';
  if (isGoMap(v)) {
    return (
      'map[string]interface {}{' +
      sortedKeys(v)
        .map((k) => quote(k) + ':' + goSyntax(v[k]))
        .join(', ') +
      '}'
    );
  }
  if (typeof v === 'number' || v instanceof GoFloat) {
    return isInt(v) ? String(v) : formatFloat(num(v), 'g', -1);
  }
  return formatValue(v);
}

function fmtInteger(n: number, verb: string, f: Flags): string {
  let base: number;
  let upper = false;
  switch (verb) {
    case 'v':
    case 'd':
      base = 10;
      break;
    case 'b':
      base = 2;
      break;
    case 'o':
    case 'O':
      base = 8;
      break;
    case 'x':
      base = 16;
      break;
    case 'X':
      base = 16;
      upper = true;
      break;
    case 'c':
      return pad(String.fromCodePoint(validRune(n)), f);
    case 'q':
      return pad(quoteRune(validRune(n), f.plus), f);
    case 'U': {
      let s = 'U+' + n.toString(16).toUpperCase().padStart(4, '0');
      if (f.sharp && isPrint(validRune(n))) s += " '" + String.fromCodePoint(n) + "'";
      return pad(s, f);
    }
    default:
      return badVerb(n, verb);
  }
  const negative = n < 0;
  let digits = Math.abs(n).toString(base);
  if (upper) digits = digits.toUpperCase();
  let prec = 0;
  if (f.precPresent) {
    prec = f.prec;
    if (prec === 0 && n === 0) return pad('', { ...f, zero: false });
  } else if (f.zero && f.widPresent) {
    prec = f.wid;
    if (negative || f.plus || f.space) prec--;
  }
  if (digits.length < prec) digits = '0'.repeat(prec - digits.length) + digits;
  if (f.sharp) {
    if (base === 2) digits = '0b' + digits;
    else if (base === 8 && digits[0] !== '0') digits = '0' + digits;
    else if (base === 16) digits = (upper ? '0X' : '0x') + digits;
  }
  if (verb === 'O') digits = '0o' + digits;
  if (negative) digits = '-' + digits;
  else if (f.plus) digits = '+' + digits;
  else if (f.space) digits = ' ' + digits;
  return pad(digits, f, false);
}

function validRune(n: number): number {
  return n < 0 || n > 0x10ffff || (n >= 0xd800 && n <= 0xdfff) ? 0xfffd : n;
}

function fmtFloatVerb(x: number, verb: string, f: Flags): string {
  let v = verb;
  let prec = -1;
  switch (verb) {
    case 'v':
      v = 'g';
      break;
    case 'b':
    case 'g':
    case 'G':
    case 'x':
    case 'X':
      break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
      prec = 6;
      break;
    default:
      return badVerb(new GoFloat(x), verb);
  }
  if (f.precPresent) prec = f.prec;
  let s = formatFloat(x, v === 'F' ? 'f' : v, prec);
  if (s[0] !== '-' && s[0] !== '+') s = '+' + s;
  if (f.space && s[0] === '+' && !f.plus) s = ' ' + s.slice(1);
  if (s[1] === 'I' || s[1] === 'N') {
    if (s[1] === 'N' && !f.space && !f.plus) s = s.slice(1);
    return pad(s, { ...f, zero: false });
  }
  if (f.plus || s[0] !== '+') {
    if (f.zero && f.widPresent && f.wid > s.length) {
      return s[0] + '0'.repeat(f.wid - s.length) + s.slice(1);
    }
    return pad(s, f);
  }
  return pad(s.slice(1), f);
}

function fmtString(s: string, verb: string, f: Flags): string {
  switch (verb) {
    case 'v':
      if (f.sharp) return quote(s);
      return pad(truncate(s, f), f);
    case 's':
      return pad(truncate(s, f), f);
    case 'q':
      s = truncate(s, f);
      if (f.sharp && canBackquote(s)) return pad('`' + s + '`', f);
      return pad(quote(s, f.plus), f);
    case 'x':
    case 'X': {
      const bytes = Buffer.from(truncateBytes(s, f), 'utf8');
      let out = '';
      bytes.forEach((b, i) => {
        if (f.space && i > 0) out += ' ';
        if (f.sharp && (f.space || i === 0)) out += verb === 'x' ? '0x' : '0X';
        const h = b.toString(16).padStart(2, '0');
        out += verb === 'X' ? h.toUpperCase() : h;
      });
      return pad(out, f);
    }
    default:
      return badVerb(s, verb);
  }
}

function truncate(s: string, f: Flags): string {
  if (!f.precPresent) return s;
  const runes = [...s];
  return runes.length > f.prec ? runes.slice(0, f.prec).join('') : s;
}

function truncateBytes(s: string, f: Flags): string {
  if (!f.precPresent) return s;
  return Buffer.from(s, 'utf8').subarray(0, f.prec).toString('latin1');
}
