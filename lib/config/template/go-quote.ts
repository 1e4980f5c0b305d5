// Go's strconv quoting (Quote, QuoteToASCII, QuoteRune, CanBackquote) and unicode.IsPrint, as fmt's %q uses them.
export function canBackquote(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '`' || c === 0xfeff) return false;
    if (c < 0x20 && ch !== '\t') return false;
    if (c === 0x7f) return false;
  }
  return true;
}

const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;

/** unicode.IsPrint */
export function isPrint(c: number): boolean {
  if (c < 0x7f) return c >= 0x20;
  return PRINTABLE.test(String.fromCodePoint(c));
}

function escapeRune(c: number, q: string, ascii: boolean): string {
  const ch = String.fromCodePoint(c);
  if (ch === q || ch === '\\') return '\\' + ch;
  if (ascii ? c < 0x7f && isPrint(c) : isPrint(c)) return ch;
  switch (ch) {
    case '\x07':
      return '\\a';
    case '\b':
      return '\\b';
    case '\f':
      return '\\f';
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    case '\v':
      return '\\v';
  }
  if (c < 0x20 || c === 0x7f) return '\\x' + c.toString(16).padStart(2, '0');
  if (c >= 0xd800 && c <= 0xdfff) return '\\ufffd';
  if (c < 0x10000) return '\\u' + c.toString(16).padStart(4, '0');
  return '\\U' + c.toString(16).padStart(8, '0');
}

/** strconv.Quote (ascii: strconv.QuoteToASCII) */
export function quote(s: string, ascii = false): string {
  let out = '"';
  for (const ch of s) out += escapeRune(ch.codePointAt(0)!, '"', ascii);
  return out + '"';
}

export function quoteRune(c: number, ascii: boolean): string {
  return "'" + escapeRune(c, "'", ascii) + "'";
}
