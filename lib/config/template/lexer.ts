// Lexer for Go text/template: the same items, trim markers ("{{- " and " -}}") and error texts
// as Go's text/template/parse/lex.go, producing the whole token list up front.

export type TokenType =
  | 'error'
  | 'bool'
  | 'char' // printable ASCII character not otherwise recognised (e.g. ',' or a stray '}')
  | 'charConstant'
  | 'assign'
  | 'declare'
  | 'EOF'
  | 'field'
  | 'identifier'
  | 'leftDelim'
  | 'leftParen'
  | 'number'
  | 'pipe'
  | 'rawString'
  | 'rightDelim'
  | 'rightParen'
  | 'space'
  | 'string'
  | 'text'
  | 'variable'
  // keywords
  | 'block'
  | 'break'
  | 'continue'
  | 'dot'
  | 'define'
  | 'else'
  | 'end'
  | 'if'
  | 'nil'
  | 'range'
  | 'template'
  | 'with';

export interface Token {
  type: TokenType;
  val: string;
  pos: number;
}

const KEYWORDS = new Map<string, TokenType>(
  Object.entries({
    '.': 'dot',
    block: 'block',
    break: 'break',
    continue: 'continue',
    define: 'define',
    else: 'else',
    end: 'end',
    if: 'if',
    range: 'range',
    nil: 'nil',
    template: 'template',
    with: 'with',
  }) as [string, TokenType][],
);

export function isKeyword(t: TokenType): boolean {
  return t === 'dot' || [...KEYWORDS.values()].includes(t);
}

const LEFT = '{{';
const RIGHT = '}}';

function isSpace(c: string | undefined): boolean {
  return c === ' ' || c === '\t' || c === '\r' || c === '\n';
}

function isAlphaNumeric(c: string | undefined): boolean {
  if (c === undefined) return false;
  const code = c.charCodeAt(0);
  if (code < 0x80) {
    return (code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95;
  }
  return /[\p{L}\p{Nd}]/u.test(c);
}

function hasLeftTrimMarker(s: string, at: number): boolean {
  return s[at] === '-' && isSpace(s[at + 1]);
}

function hasRightTrimMarker(s: string, at: number): boolean {
  return isSpace(s[at]) && s[at + 1] === '-';
}

/** Splits a template into tokens; a lexing problem ends the list with an 'error' token. */
export function lex(input: string, opts: { breakOK: boolean; continueOK: boolean }): Token[] {
  const tokens: Token[] = [];
  let pos = 0;
  let start = 0;
  let parenDepth = 0;

  const emit = (type: TokenType): void => {
    tokens.push({ type, val: input.slice(start, pos), pos: start });
    start = pos;
  };
  const fail = (msg: string): Token[] => {
    tokens.push({ type: 'error', val: msg, pos: start });
    return tokens;
  };
  const atRightDelim = (): { delim: boolean; trim: boolean } => {
    if (hasRightTrimMarker(input, pos) && input.startsWith(RIGHT, pos + 2)) return { delim: true, trim: true };
    if (input.startsWith(RIGHT, pos)) return { delim: true, trim: false };
    return { delim: false, trim: false };
  };
  const atTerminator = (): boolean => {
    const r = input[pos];
    if (r === undefined || isSpace(r)) return true;
    if ('.,|:()'.includes(r)) return true;
    return r === RIGHT[0];
  };
  const skipLeadingSpace = (): void => {
    while (isSpace(input[pos])) pos++;
  };
  const accept = (valid: string): boolean => {
    const c = input[pos];
    if (c !== undefined && valid.includes(c)) {
      pos++;
      return true;
    }
    return false;
  };
  const acceptRun = (valid: string): void => {
    while (accept(valid));
  };

  for (;;) {
    // lexText
    const x = input.indexOf(LEFT, pos);
    if (x < 0) {
      pos = input.length;
      if (pos > start) emit('text');
      tokens.push({ type: 'EOF', val: '', pos });
      return tokens;
    }
    pos = x;
    let trimLength = 0;
    if (hasLeftTrimMarker(input, pos + LEFT.length)) {
      let i = pos;
      while (i > start && isSpace(input[i - 1])) i--;
      trimLength = pos - i;
    }
    pos -= trimLength;
    if (pos > start) emit('text');
    pos += trimLength;
    start = pos;

    // lexLeftDelim
    pos += LEFT.length;
    const trimLeft = hasLeftTrimMarker(input, pos);
    const afterMarker = trimLeft ? 2 : 0;
    if (input.startsWith('/*', pos + afterMarker)) {
      // lexComment
      pos += afterMarker;
      start = pos;
      pos += 2;
      const end = input.indexOf('*/', pos);
      if (end < 0) return fail('unclosed comment');
      pos = end + 2;
      const r = atRightDelim();
      if (!r.delim) return fail('comment ends before closing delimiter');
      if (r.trim) pos += 2;
      pos += RIGHT.length;
      if (r.trim) skipLeadingSpace();
      start = pos;
      continue;
    }
    emit('leftDelim');
    pos += afterMarker;
    start = pos;
    parenDepth = 0;

    // lexInsideAction
    for (;;) {
      const rd = atRightDelim();
      if (rd.delim) {
        if (parenDepth !== 0) return fail('unclosed left paren');
        if (rd.trim) {
          pos += 2;
          start = pos;
        }
        pos += RIGHT.length;
        emit('rightDelim');
        if (rd.trim) {
          skipLeadingSpace();
          start = pos;
        }
        break;
      }
      const r = input[pos];
      if (r === undefined) return fail('unclosed action');
      if (isSpace(r)) {
        // lexSpace: a space followed by "-}}" is the trim marker, not a space token.
        let n = 0;
        while (isSpace(input[pos])) {
          pos++;
          n++;
        }
        if (hasRightTrimMarker(input, pos - 1) && input.startsWith(RIGHT, pos + 1)) {
          pos--;
          if (n === 1) continue;
        }
        emit('space');
        continue;
      }
      pos++;
      switch (r) {
        case '=':
          emit('assign');
          continue;
        case ':':
          if (input[pos] !== '=') return fail('expected :=');
          pos++;
          emit('declare');
          continue;
        case '|':
          emit('pipe');
          continue;
        case '"': {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const e = input[pos++];
              if (e !== undefined && e !== '\n') continue;
              return fail('unterminated quoted string');
            }
            if (c === undefined || c === '\n') return fail('unterminated quoted string');
            if (c === '"') break;
          }
          emit('string');
          continue;
        }
        case '`': {
          const end = input.indexOf('`', pos);
          if (end < 0) return fail('unterminated raw quoted string');
          pos = end + 1;
          emit('rawString');
          continue;
        }
        case "'": {
          for (;;) {
            const c = input[pos++];
            if (c === '\\') {
              const e = input[pos++];
              if (e !== undefined && e !== '\n') continue;
              return fail('unterminated character constant');
            }
            if (c === undefined || c === '\n') return fail('unterminated character constant');
            if (c === "'") break;
          }
          emit('charConstant');
          continue;
        }
        case '(':
          emit('leftParen');
          parenDepth++;
          continue;
        case ')':
          emit('rightParen');
          parenDepth--;
          if (parenDepth < 0) return fail("unexpected right paren U+0029 ')'");
          continue;
      }
      if (r === '$' || (r === '.' && !(input[pos]! >= '0' && input[pos]! <= '9'))) {
        // lexVariable / lexField
        if (atTerminator()) {
          emit(r === '$' ? 'variable' : 'dot');
          continue;
        }
        while (isAlphaNumeric(input[pos])) pos++;
        if (!atTerminator()) return fail(`bad character ${runeDesc(input[pos]!)}`);
        emit(r === '$' ? 'variable' : 'field');
        continue;
      }
      if (r === '.' || r === '+' || r === '-' || (r >= '0' && r <= '9')) {
        pos--;
        if (!scanNumber()) return fail(`bad number syntax: ${JSON.stringify(input.slice(start, pos))}`);
        emit('number');
        continue;
      }
      if (isAlphaNumeric(r)) {
        while (isAlphaNumeric(input[pos])) pos++;
        if (!atTerminator()) return fail(`bad character ${runeDesc(input[pos]!)}`);
        const word = input.slice(start, pos);
        let kw = KEYWORDS.get(word);
        if ((kw === 'break' && !opts.breakOK) || (kw === 'continue' && !opts.continueOK)) kw = undefined;
        if (kw) emit(kw);
        else if (word === 'true' || word === 'false') emit('bool');
        else emit('identifier');
        continue;
      }
      const code = r.codePointAt(0)!;
      if (code >= 0x20 && code < 0x7f) {
        emit('char');
        continue;
      }
      return fail(`unrecognized character in action: ${runeDesc(r)}`);
    }
  }

  function scanNumber(): boolean {
    accept('+-');
    let digits = '0123456789_';
    if (accept('0')) {
      if (accept('xX')) digits = '0123456789abcdefABCDEF_';
      else if (accept('oO')) digits = '01234567_';
      else if (accept('bB')) digits = '01_';
    }
    acceptRun(digits);
    if (accept('.')) acceptRun(digits);
    if (digits.length === 11 && accept('eE')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    if (digits.length === 23 && accept('pP')) {
      accept('+-');
      acceptRun('0123456789_');
    }
    accept('i');
    if (isAlphaNumeric(input[pos])) {
      pos++;
      return false;
    }
    return true;
  }
}

/** Go's %#U: U+0040 '@' */
function runeDesc(r: string): string {
  const c = r.codePointAt(0)!;
  return 'U+' + c.toString(16).toUpperCase().padStart(4, '0') + (c >= 0x20 ? ` '${r}'` : '');
}

/** A token as Go's parser quotes it in error messages (item.String()). */
export function tokenString(t: Token): string {
  if (t.type === 'EOF') return 'EOF';
  if (t.type === 'error') return t.val;
  if (isKeyword(t.type)) return `<${t.val}>`;
  const chars = [...t.val];
  if (chars.length > 10) return JSON.stringify(chars.slice(0, 10).join('')) + '...';
  return JSON.stringify(t.val);
}
