// sprig's defaults, reflection, JSON, encoding and path/url helpers (defaults.go, reflect.go,
// crypto.go encodings, functions.go path funcs, url.go).
import { fixed, variadic, type TemplateFunc } from './func-types.js';
import { fromJson, toJson } from './json.js';
import { isEmpty } from './sprig-convert.js';
import { FuncError } from './template-error.js';
import { deepEqual, kindOf, typeName, type GoMap } from './value.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function b32enc(s: string): string {
  const bytes = Buffer.from(s, 'utf8');
  let out = '';
  let bits = 0;
  let value = 0;
  for (const b of bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  while (out.length % 8 !== 0) out += '=';
  return out;
}

function b32dec(s: string): string {
  const clean = s.replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  const out: number[] = [];
  for (let i = 0; i < clean.length; i++) {
    const idx = B32.indexOf(clean[i]!);
    if (idx < 0 || s.length % 8 !== 0) return `illegal base32 data at input byte ${idx < 0 ? i : s.length}`;
    value = (value << 5) | idx;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out).toString('utf8');
}

/** base64.StdEncoding.DecodeString; sprig returns the error text instead of failing. */
function b64dec(s: string): string {
  const bad = /[^A-Za-z0-9+/=]/.exec(s);
  if (bad) return `illegal base64 data at input byte ${bad.index}`;
  const pad = s.indexOf('=');
  if (s.length % 4 !== 0 || (pad >= 0 && (pad < s.length - 2 || /[^=]/.test(s.slice(pad))))) {
    return `illegal base64 data at input byte ${pad >= 0 ? pad : s.length - (s.length % 4)}`;
  }
  return Buffer.from(s, 'base64').toString('utf8');
}

/** path.Clean */
export function cleanPath(p: string): string {
  if (p === '') return '.';
  const rooted = p.startsWith('/');
  const out: string[] = [];
  for (const seg of p.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const s = (rooted ? '/' : '') + out.join('/');
  return s === '' ? '.' : s;
}

function basePath(p: string): string {
  if (p === '') return '.';
  p = p.replace(/\/+$/, '');
  if (p === '') return '/';
  return p.slice(p.lastIndexOf('/') + 1);
}

function dirPath(p: string): string {
  return cleanPath(p.slice(0, p.lastIndexOf('/') + 1));
}

function extPath(p: string): string {
  for (let i = p.length - 1; i >= 0 && p[i] !== '/'; i--) if (p[i] === '.') return p.slice(i);
  return '';
}

function urlParse(v: string): GoMap {
  const m = /^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(v);
  if (!m) throw new FuncError(`unable to parse url: ${v}`);
  const [, scheme = '', authority, rest = '', query = '', fragment = ''] = m;
  let userinfo = '';
  let host = authority ?? '';
  const at = host.lastIndexOf('@');
  if (at >= 0) {
    userinfo = host.slice(0, at);
    host = host.slice(at + 1);
  }
  const opaque = authority === undefined && scheme !== '' && !rest.startsWith('/') ? rest : '';
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return {
    scheme,
    host,
    hostname: host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d*$/, ''),
    path: opaque ? '' : decode(rest),
    query,
    opaque,
    fragment: decode(fragment),
    userinfo,
  };
}

function urlJoin(d: GoMap | null): string {
  const g = (k: string): string => (d && typeof d[k] === 'string' ? (d[k] as string) : '');
  let out = '';
  if (g('scheme')) out += g('scheme') + ':';
  if (g('opaque')) out += g('opaque');
  else {
    if (g('host') || g('userinfo')) out += '//' + (g('userinfo') ? g('userinfo') + '@' : '') + g('host');
    const path = g('path');
    if (path && !path.startsWith('/') && g('host')) out += '/';
    out += encodeURI(path);
  }
  if (g('query')) out += '?' + g('query');
  if (g('fragment')) out += '#' + encodeURIComponent(g('fragment'));
  return out;
}

export function dataFunctions(): Record<string, TemplateFunc> {
  return {
    default: variadic(['any'], 'any', (d, given) => (given.length === 0 || isEmpty(given[0]) ? d : given[0])),
    empty: fixed(['any'], isEmpty),
    coalesce: variadic([], 'any', (vs) => vs.find((v) => !isEmpty(v)) ?? null),
    all: variadic([], 'any', (vs) => vs.every((v) => !isEmpty(v))),
    any: variadic([], 'any', (vs) => vs.length > 0 && vs.some((v) => !isEmpty(v))),
    ternary: fixed(['any', 'any', 'bool'], (t, f, c) => (c ? t : f)),
    fail: fixed(['string'], (msg) => {
      throw new FuncError(msg);
    }),
    typeOf: fixed(['any'], typeName),
    typeIs: fixed(['string', 'any'], (t, v) => t === typeName(v)),
    typeIsLike: fixed(['string', 'any'], (t, v) => t === typeName(v) || '*' + t === typeName(v)),
    kindOf: fixed(['any'], kindOf),
    kindIs: fixed(['string', 'any'], (k, v) => k === kindOf(v)),
    deepEqual: fixed(['any', 'any'], deepEqual),
    toJson: fixed(['any'], (v) => safe(() => toJson(v))),
    toPrettyJson: fixed(['any'], (v) => safe(() => toJson(v, { indent: '  ' }))),
    toRawJson: fixed(['any'], (v) => safe(() => toJson(v, { escapeHTML: false }))),
    mustToJson: fixed(['any'], (v) => toJson(v)),
    mustToPrettyJson: fixed(['any'], (v) => toJson(v, { indent: '  ' })),
    mustToRawJson: fixed(['any'], (v) => toJson(v, { escapeHTML: false })),
    fromJson: fixed(['string'], (s) => safe(() => fromJson(s), null)),
    mustFromJson: fixed(['string'], fromJson),
    b64enc: fixed(['string'], (s) => Buffer.from(s, 'utf8').toString('base64')),
    b64dec: fixed(['string'], b64dec),
    b32enc: fixed(['string'], b32enc),
    b32dec: fixed(['string'], b32dec),
    base: fixed(['string'], basePath),
    dir: fixed(['string'], dirPath),
    clean: fixed(['string'], cleanPath),
    ext: fixed(['string'], extPath),
    isAbs: fixed(['string'], (p) => p.startsWith('/')),
    osBase: fixed(['string'], basePath),
    osDir: fixed(['string'], dirPath),
    osClean: fixed(['string'], cleanPath),
    osExt: fixed(['string'], extPath),
    osIsAbs: fixed(['string'], (p) => p.startsWith('/')),
    urlParse: fixed(['string'], urlParse),
    urlJoin: fixed(['map'], urlJoin),
  };
}

function safe<T>(f: () => T, fallback: T | string = ''): T | string {
  try {
    return f();
  } catch {
    return fallback;
  }
}
