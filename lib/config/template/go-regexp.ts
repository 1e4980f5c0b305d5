// Go's regexp (RE2 syntax) on top of JS RegExp: translates (?P<name>), leading flags, \A \z,
// POSIX classes and \Q…\E, rejects what RE2 rejects (lookaround, backreferences), and implements
// Go's FindAll/ReplaceAll/Split/Expand semantics.
import { FuncError } from './template-error.js';

const POSIX: Record<string, string> = {
  alnum: '0-9A-Za-z',
  alpha: 'A-Za-z',
  ascii: '\\x00-\\x7F',
  blank: '\\t ',
  cntrl: '\\x00-\\x1F\\x7F',
  digit: '0-9',
  graph: '!-~',
  lower: 'a-z',
  print: ' -~',
  punct: '!-\\/:-@\\[-`{-~',
  space: '\\t\\n\\v\\f\\r ',
  upper: 'A-Z',
  word: '0-9A-Za-z_',
  xdigit: '0-9A-Fa-f',
};

const JS_SYNTAX = new Set('^$\\.*+?()[]{}|/'.split(''));

const cache = new Map<string, RegExp>();

function compileError(expr: string, msg: string): FuncError {
  return new FuncError(`regexp: Compile(${JSON.stringify(expr)}): error parsing regexp: ${msg}`);
}

/** regexp.Compile */
export function compileGo(expr: string): RegExp {
  const hit = cache.get(expr);
  if (hit) return new RegExp(hit.source, hit.flags);
  let flags = 'gu';
  let src = expr;
  const lead = /^\(\?([imsU]+)\)/.exec(src);
  if (lead) {
    if (lead[1]!.includes('i')) flags += 'i';
    if (lead[1]!.includes('m')) flags += 'm';
    if (lead[1]!.includes('s')) flags += 's';
    src = src.slice(lead[0].length);
  }
  let out = '';
  let inClass = false;
  for (let i = 0; i < src.length; i++) {
    const c = src[i]!;
    if (c === '\\') {
      const n = src[i + 1];
      if (n === undefined) throw compileError(expr, 'trailing backslash at end of expression: ``');
      i++;
      if (n === 'Q') {
        const end = src.indexOf('\\E', i + 1);
        const lit = end < 0 ? src.slice(i + 1) : src.slice(i + 1, end);
        out += lit.replace(/[\\^$.*+?()[\]{}|/-]/g, '\\$&');
        i = end < 0 ? src.length : end + 1;
        continue;
      }
      if (n === 'A' && !inClass) out += '(?<![\\s\\S])';
      else if (n === 'z' && !inClass) out += '(?![\\s\\S])';
      else if (/[1-9]/.test(n)) throw compileError(expr, `invalid escape sequence: \`\\${n}\``);
      else if (n === 'p' || n === 'P') {
        if (src[i + 1] === '{') {
          const end = src.indexOf('}', i);
          out += '\\' + n + src.slice(i + 1, end + 1);
          i = end;
        } else {
          out += '\\' + n + '{' + src[i + 1] + '}';
          i++;
        }
      } else if (/[A-Za-z0-9]/.test(n) || JS_SYNTAX.has(n)) out += '\\' + n;
      else out += '\\x' + n.charCodeAt(0).toString(16).padStart(2, '0');
      continue;
    }
    if (inClass) {
      if (c === '[' && src[i + 1] === ':') {
        const end = src.indexOf(':]', i + 2);
        const name = end < 0 ? '' : src.slice(i + 2, end);
        const neg = name.startsWith('^');
        const key = neg ? name.slice(1) : name;
        const cls = Object.hasOwn(POSIX, key) ? POSIX[key] : undefined;
        if (!cls || neg) throw compileError(expr, `invalid character class range: \`${src.slice(i, end + 2)}\``);
        out += cls;
        i = end + 1;
        continue;
      }
      if (c === ']') inClass = false;
      out += c === '[' ? '\\[' : c;
      continue;
    }
    if (c === '[') {
      inClass = true;
      out += c;
      if (src[i + 1] === '^') out += src[++i];
      if (src[i + 1] === ']') {
        out += '\\]';
        i++;
      }
      continue;
    }
    if (c === '(' && src[i + 1] === '?') {
      if (src.startsWith('(?P<', i)) {
        out += '(?<';
        i += 3;
        continue;
      }
      if (/^\(\?(=|!|<=|<!)/.test(src.slice(i))) {
        throw compileError(expr, `invalid or unsupported Perl syntax: \`${src.slice(i, i + 3)}\``);
      }
    }
    out += c;
  }
  if (inClass) throw compileError(expr, `missing closing ]: \`${src.slice(src.lastIndexOf('['))}\``);
  let re: RegExp;
  try {
    re = new RegExp(out, flags);
  } catch (e) {
    throw compileError(expr, (e as Error).message.replace(/^Invalid regular expression: /, ''));
  }
  cache.set(expr, re);
  return new RegExp(re.source, re.flags);
}

/** FindAllStringSubmatchIndex semantics: empty matches right after a match are skipped. */
export function findAll(re: RegExp, s: string, n: number): RegExpExecArray[] {
  const out: RegExpExecArray[] = [];
  re.lastIndex = 0;
  let prevEnd = -1;
  while (n < 0 || out.length < n) {
    const m = re.exec(s);
    if (!m) break;
    const end = m.index + m[0].length;
    if (m[0].length === 0) {
      re.lastIndex = m.index + (s.codePointAt(m.index)! > 0xffff ? 2 : 1);
      if (m.index === prevEnd) {
        if (m.index >= s.length) break;
        continue;
      }
    }
    out.push(m);
    prevEnd = end;
    if (m.index >= s.length) break;
  }
  return out;
}

/** Regexp.Expand: $1, ${1}, $name, ${name}, $$. */
export function expand(template: string, m: RegExpExecArray): string {
  return template.replace(/\$(\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))/g, (_all, tok: string, braced?: string, bare?: string) => {
    if (tok === '$') return '$';
    const name = braced ?? bare ?? '';
    if (/^\d+$/.test(name)) return m[Number(name)] ?? '';
    return m.groups?.[name] ?? '';
  });
}

export function replaceAll(re: RegExp, s: string, repl: (m: RegExpExecArray) => string): string {
  let out = '';
  let last = 0;
  for (const m of findAll(re, s, -1)) {
    out += s.slice(last, m.index) + repl(m);
    last = m.index + m[0].length;
  }
  return out + s.slice(last);
}

/** Regexp.Split */
export function split(re: RegExp, s: string, n: number): string[] {
  if (n === 0) return [];
  if (re.source.length > 0 && s.length === 0) return [''];
  const parts: string[] = [];
  let beg = 0;
  let end = 0;
  for (const m of findAll(re, s, n)) {
    if (n > 0 && parts.length === n - 1) break;
    end = m.index;
    if (m.index + m[0].length !== 0) parts.push(s.slice(beg, end));
    beg = m.index + m[0].length;
  }
  if (end !== s.length) parts.push(s.slice(beg));
  return parts;
}

/** regexp.QuoteMeta */
export function quoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}
