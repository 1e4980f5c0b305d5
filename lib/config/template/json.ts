// Go's encoding/json over template values: sorted map keys, HTML-safe escaping by default,
// Go's float formatting; decoding yields float64 for every number like json.Unmarshal into interface{}.
import { formatFloat } from './fmt-number.js';
import { formatTime } from './go-time.js';
import { FuncError } from './template-error.js';
import { GoFloat, GoTime, float, isGoMap, isInt, sortedKeys } from './value.js';

function quoteJson(s: string, escapeHTML: boolean): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || (escapeHTML && (ch === '<' || ch === '>' || ch === '&')) || c === 0x2028 || c === 0x2029) {
      out += '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdfff) out += '\ufffd';
    else out += ch;
  }
  return out + '"';
}

function jsonFloat(x: number): string {
  if (!Number.isFinite(x)) throw new FuncError(`json: unsupported value: ${formatFloat(x, 'g', -1)}`);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-6 || abs >= 1e21)) {
    // 'e' format, with Go's cleanup of e-07 to e-7
    return formatFloat(x, 'e', -1).replace(/e([+-])0(\d)$/, 'e$1$2');
  }
  return formatFloat(x, 'f', -1);
}

/** json.Marshal / json.MarshalIndent(v, "", indent) */
export function toJson(v: unknown, opts: { indent?: string; escapeHTML?: boolean } = {}): string {
  const indent = opts.indent ?? '';
  const esc = opts.escapeHTML ?? true;
  const enc = (x: unknown, depth: number): string => {
    if (x === null || x === undefined) return 'null';
    if (typeof x === 'boolean') return String(x);
    if (typeof x === 'string') return quoteJson(x, esc);
    if (isInt(x)) return String(x);
    if (typeof x === 'number') return jsonFloat(x);
    if (x instanceof GoFloat) return jsonFloat(x.value);
    if (x instanceof GoTime) return quoteJson(formatTime(x, '2006-01-02T15:04:05.999999999Z07:00'), esc);
    if (typeof x === 'function') throw new FuncError('json: unsupported type: func()');
    const nl = indent ? '\n' + indent.repeat(depth + 1) : '';
    const close = indent ? '\n' + indent.repeat(depth) : '';
    if (Array.isArray(x)) {
      if (x.length === 0) return '[]';
      return '[' + nl + x.map((e) => enc(e, depth + 1)).join(',' + nl) + close + ']';
    }
    const obj = x as Record<string, unknown>;
    const keys = isGoMap(x) ? sortedKeys(obj) : Object.keys(obj).filter((k) => typeof obj[k] !== 'function');
    if (keys.length === 0) return '{}';
    const sep = indent ? ': ' : ':';
    return '{' + nl + keys.map((k) => quoteJson(k, esc) + sep + enc(obj[k], depth + 1)).join(',' + nl) + close + '}';
  };
  return enc(v, 0);
}

/** json.Unmarshal into interface{}: numbers become float64. */
export function fromJson(s: string): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (e) {
    throw new FuncError((e as Error).message);
  }
  const conv = (x: unknown): unknown => {
    if (typeof x === 'number') return float(x);
    if (Array.isArray(x)) return x.map(conv);
    if (x !== null && typeof x === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(x)) out[k] = conv(v);
      return out;
    }
    return x;
  };
  return conv(parsed);
}
