// A doublestar (github.com/bmatcuk/doublestar v4 `Match`) glob compiled to a RegExp, written from its
// documented semantics: `*` = any run of non-`/` chars (dot files included), `**` as a whole segment =
// zero or more segments (elsewhere it is a `*`), `?` one char, `[set]` `[!set]` `[^set]` `[a-z]`,
// `{a,b}` alternatives (may contain `/`, may nest), `\` escapes. No negation, no extglobs, no ranges.
import { TsbuildError } from '../errors.js';

/** Brace expansion beyond this many alternatives is refused: masks are written by people. */
const MAX_ALTERNATIVES = 1024;

type Token = { t: 'lit'; s: string } | { t: 'sep' } | { t: 'star'; n: number } | { t: 'any' } | { t: 'class'; neg: boolean; items: Array<[number, number]> };

export function invalidGlob(pattern: string, why: string): TsbuildError {
  return new TsbuildError('TSB_GIT_MASK_INVALID', `invalid path mask "${pattern}": ${why}`, {
    hint: 'fix the glob in werf.yaml (includePaths, excludePaths or stageDependencies); escape a literal *?[]{} with a backslash',
    details: { pattern },
  });
}

/** doublestar's ValidatePattern: classes closed and non-empty, braces balanced, no trailing `\`. */
function validateGlob(pattern: string): void {
  let depth = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      if (++i >= pattern.length) throw invalidGlob(pattern, 'it ends with an escape character');
    } else if (c === '[') {
      i++;
      if (pattern[i] === '^' || pattern[i] === '!') i++;
      if (i >= pattern.length || pattern[i] === ']') throw invalidGlob(pattern, 'empty or unterminated character class');
      for (; i < pattern.length && pattern[i] !== ']'; i++) if (pattern[i] === '\\') i++;
      if (i >= pattern.length) throw invalidGlob(pattern, 'unterminated character class');
    } else if (c === '{') {
      depth++;
    } else if (c === '}') {
      if (depth === 0) throw invalidGlob(pattern, 'a "}" without a matching "{"');
      depth--;
    }
  }
  if (depth !== 0) throw invalidGlob(pattern, 'unterminated "{" alternatives');
}

function skipClass(s: string, i: number): number {
  // i is at '['; returns the index of the closing ']' (validated patterns always have one).
  for (i++; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === ']') return i;
  }
  return s.length;
}

/** Expands `{a,b}` alternatives (nested, escapes and classes respected) into plain patterns. */
function expandBraces(pattern: string): string[] {
  let open = -1;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[') i = skipClass(pattern, i);
    else if (c === '{') {
      open = i;
      break;
    }
  }
  if (open < 0) return [pattern];
  // Closing brace and commas as doublestar finds them: nesting counted, escapes skipped,
  // commas inside a [class] are not separators.
  const alts: string[] = [];
  let depth = 1;
  let start = open + 1;
  let close = -1;
  for (let i = open + 1; i < pattern.length && close < 0; i++) {
    const c = pattern[i];
    if (c === '\\') i++;
    else if (c === '[' && depth === 1) i = skipClass(pattern, i);
    else if (c === '{') depth++;
    else if (c === '}') {
      if (--depth === 0) close = i;
    } else if (c === ',' && depth === 1) {
      alts.push(pattern.slice(start, i));
      start = i + 1;
    }
  }
  if (close < 0) throw invalidGlob(pattern, 'unterminated "{" alternatives');
  alts.push(pattern.slice(start, close));
  const head = pattern.slice(0, open);
  const tail = pattern.slice(close + 1);
  const out: string[] = [];
  for (const alt of alts) {
    for (const expanded of expandBraces(head + alt + tail)) {
      out.push(expanded);
      if (out.length > MAX_ALTERNATIVES) throw invalidGlob(pattern, `more than ${MAX_ALTERNATIVES} {…} alternatives`);
    }
  }
  return out;
}

function tokenize(p: string): Token[] {
  const out: Token[] = [];
  const chars = Array.from(p); // by code point, like Go's runes
  const lit = (s: string): void => {
    const last = out[out.length - 1];
    if (last?.t === 'lit') last.s += s;
    else out.push({ t: 'lit', s });
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\') {
      const next = chars[++i] as string;
      if (next === '/')
        out.push({ t: 'sep' }); // an escaped separator still separates
      else lit(next);
    } else if (c === '/') {
      out.push({ t: 'sep' });
    } else if (c === '*') {
      let n = 1;
      while (chars[i + 1] === '*') {
        n++;
        i++;
      }
      out.push({ t: 'star', n });
    } else if (c === '?') {
      out.push({ t: 'any' });
    } else if (c === '[') {
      i++;
      const neg = chars[i] === '!' || chars[i] === '^';
      if (neg) i++;
      const items: Array<[number, number]> = [];
      const atom = (): number => {
        let ch = chars[i++] as string;
        if (ch === '\\') ch = chars[i++] as string;
        return ch.codePointAt(0) as number;
      };
      while (i < chars.length && chars[i] !== ']') {
        const lo = atom();
        if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
          i++;
          const hi = atom();
          if (lo <= hi) items.push([lo, hi]); // a reversed range matches nothing (as in doublestar)
        } else {
          items.push([lo, lo]);
        }
      }
      out.push({ t: 'class', neg, items });
    } else {
      lit(c);
    }
  }
  return out;
}

const escapeRe = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&');
const cp = (n: number): string => `\\u{${n.toString(16)}}`;

function classSource(tok: Extract<Token, { t: 'class' }>): string {
  const body = tok.items.map(([lo, hi]) => (lo === hi ? cp(lo) : `${cp(lo)}-${cp(hi)}`)).join('');
  return `[${tok.neg ? '^' : ''}${body}]`;
}

function isGlobstar(tokens: Token[], i: number): boolean {
  const tok = tokens[i];
  if (tok?.t !== 'star' || tok.n !== 2) return false;
  const prev = tokens[i - 1];
  const next = tokens[i + 1];
  return (prev === undefined || prev.t === 'sep') && (next === undefined || next.t === 'sep');
}

/** RegExp source (no anchors) of one brace-free pattern. */
function patternSource(tokens: Token[]): string {
  let src = '';
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i] as Token;
    if (tok.t === 'sep') {
      // `x/**` also matches `x` itself; `x/**/` (uncleaned) likewise.
      if (isGlobstar(tokens, i + 1)) {
        if (i + 2 === tokens.length) return `${src}(?:/.*)?`;
        if (i + 3 === tokens.length) return `${src}(?:/(?:.*/)?)?`;
      }
      src += '/';
    } else if (tok.t === 'star') {
      if (isGlobstar(tokens, i)) {
        if (i + 1 === tokens.length) src += '.*';
        else {
          src += '(?:.*/)?'; // `**/`: zero or more whole segments
          i++;
        }
      } else {
        src += '[^/]*';
      }
    } else if (tok.t === 'any') src += '[^/]';
    else if (tok.t === 'class') src += classSource(tok);
    else src += escapeRe(tok.s);
  }
  return src;
}

/** RegExp source (no anchors) of a doublestar pattern, braces expanded into alternation. */
export function globSource(pattern: string): string {
  validateGlob(pattern);
  const alts = expandBraces(pattern).map((p) => patternSource(tokenize(p)));
  return alts.length === 1 ? (alts[0] as string) : `(?:${alts.join('|')})`;
}

/** doublestar `Match(pattern, path)` as a compiled RegExp. Throws TSB_GIT_MASK_INVALID. */
export function compileGlob(pattern: string): RegExp {
  return new RegExp(`^${globSource(pattern)}$`, 'su');
}

/** One segment of a pattern: `**` (zero or more segments) or a single-segment matcher. */
export type GlobSegment = 'globstar' | RegExp;

/** The pattern split into per-segment matchers, one list per brace alternative (for pruning walks). */
export function globSegments(pattern: string): GlobSegment[][] {
  validateGlob(pattern);
  return expandBraces(pattern).map((p) => {
    const tokens = tokenize(p);
    const segments: GlobSegment[] = [];
    let cur: Token[] = [];
    const flush = (): void => {
      segments.push(cur.length === 1 && isGlobstar(cur, 0) ? 'globstar' : new RegExp(`^${patternSource(cur)}$`, 'su'));
      cur = [];
    };
    for (const tok of tokens) {
      if (tok.t === 'sep') flush();
      else cur.push(tok);
    }
    flush();
    return segments;
  });
}
