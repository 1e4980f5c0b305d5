// sprig v3.2 TxtFuncMap for templates: every family merged into one map (werf removes
// expandenv and replaces env, see werf-functions.ts).
import { fixed, type TemplateFunc } from './func-types.js';
import { compileGo, expand, findAll, quoteMeta, replaceAll, split } from './go-regexp.js';
import { formatDuration, parseDuration } from './go-duration.js';
import { formatTime, parseTime } from './go-time.js';
import { isKnownZone } from './go-zone.js';
import { cryptoFunctions } from './sprig-crypto.js';
import { dataFunctions } from './sprig-data.js';
import { dictFunctions } from './sprig-dicts.js';
import { listFunctions } from './sprig-lists.js';
import { mathFunctions } from './sprig-math.js';
import { SemverVersion, semverCompare } from './sprig-semver.js';
import { stringFunctions } from './sprig-strings.js';
import { FuncError } from './template-error.js';
import { GoTime, isInt, ZERO_TIME } from './value.js';

function regexFunctions(): Record<string, TemplateFunc> {
  const fns: Record<string, TemplateFunc> = {
    regexMatch: fixed(['string', 'string'], (re, s) => findAll(compileGo(re), s, 1).length > 0),
    regexFindAll: fixed(['string', 'string', 'int'], (re, s, n) => {
      const out = findAll(compileGo(re), s, n).map((m) => m[0]);
      return out.length === 0 ? null : out;
    }),
    regexFind: fixed(['string', 'string'], (re, s) => findAll(compileGo(re), s, 1)[0]?.[0] ?? ''),
    regexReplaceAll: fixed(['string', 'string', 'string'], (re, s, repl) => replaceAll(compileGo(re), s, (m) => expand(repl, m))),
    regexReplaceAllLiteral: fixed(['string', 'string', 'string'], (re, s, repl) => replaceAll(compileGo(re), s, () => repl)),
    regexSplit: fixed(['string', 'string', 'int'], (re, s, n) => split(compileGo(re), s, n)),
  };
  for (const name of Object.keys(fns)) fns['must' + name[0]!.toUpperCase() + name.slice(1)] = fns[name]!;
  fns.regexQuoteMeta = fixed(['string'], quoteMeta);
  return fns;
}

/** The time.Time sprig's date functions accept: times and unix seconds; anything else is now. */
function toTime(date: unknown): GoTime {
  if (date instanceof GoTime) return date;
  if (isInt(date)) return new GoTime(date * 1000, 'Local');
  return new GoTime(Date.now(), 'Local');
}

function dateInZone(layout: string, date: unknown, zone: string): string {
  const t = toTime(date);
  const z = zone === '' ? 'UTC' : isKnownZone(zone) ? zone : 'UTC';
  return formatTime(new GoTime(t.ms, z, t.nanos), layout);
}

function needTime(v: unknown): GoTime {
  if (v instanceof GoTime) return v;
  throw new FuncError('wrong type for value; expected time.Time');
}

function dateFunctions(): Record<string, TemplateFunc> {
  const modify = (must: boolean) =>
    fixed(['string', 'any'], (fmt, date) => {
      const t = needTime(date);
      let d: number;
      try {
        d = parseDuration(fmt);
      } catch (e) {
        if (must) throw e;
        return t;
      }
      return new GoTime(t.ms + d / 1e6, t.zone, t.nanos);
    });
  const toDate = (must: boolean) =>
    fixed(['string', 'string'], (fmt, s) => {
      try {
        return parseTime(fmt, s, 'Local');
      } catch (e) {
        if (must) throw new FuncError((e as Error).message);
        return ZERO_TIME;
      }
    });
  const fns: Record<string, TemplateFunc> = {
    now: fixed([], () => new GoTime(Date.now(), 'Local')),
    date: fixed(['string', 'any'], (fmt, d) => dateInZone(fmt, d, 'Local')),
    dateInZone: fixed(['string', 'any', 'string'], dateInZone),
    htmlDate: fixed(['any'], (d) => dateInZone('2006-01-02', d, 'Local')),
    htmlDateInZone: fixed(['any', 'string'], (d, z) => dateInZone('2006-01-02', d, z)),
    dateModify: modify(false),
    mustDateModify: modify(true),
    toDate: toDate(false),
    mustToDate: toDate(true),
    unixEpoch: fixed(['any'], (d) => String(Math.floor(needTime(d).ms / 1000))),
    ago: fixed(['any'], (d) => formatDuration(Math.round((Date.now() - toTime(d).ms) / 1000) * 1e9)),
    // sprig reads int64 seconds or a string; tsbuild does not tell int from int64, so ints count too.
    duration: fixed(['any'], (sec) => {
      const n = typeof sec === 'string' ? (/^[+-]?\d+$/.test(sec) ? Number(sec) : 0) : isInt(sec) ? sec : 0;
      return formatDuration(n * 1e9);
    }),
    durationRound: fixed(['any'], (v) => {
      let ns = 0;
      if (typeof v === 'string') {
        try {
          ns = parseDuration(v);
        } catch {
          ns = 0;
        }
      } else if (isInt(v)) ns = v;
      else if (v instanceof GoTime) ns = (Date.now() - v.ms) * 1e6;
      const u = Math.abs(ns);
      const units: [number, string][] = [
        [3.6e12 * 24 * 365, 'y'],
        [3.6e12 * 24 * 30, 'mo'],
        [3.6e12 * 24, 'd'],
        [3.6e12, 'h'],
        [6e10, 'm'],
        [1e9, 's'],
      ];
      for (const [size, suffix] of units) if (u > size) return Math.floor(u / size) + suffix;
      return '0s';
    }),
  };
  fns.date_in_zone = fns.dateInZone!;
  fns.date_modify = fns.dateModify!;
  fns.must_date_modify = fns.mustDateModify!;
  return fns;
}

function semverFunctions(): Record<string, TemplateFunc> {
  return {
    semver: fixed(['string'], (v) => SemverVersion.parse(v)),
    semverCompare: fixed(['string', 'string'], semverCompare),
  };
}

let cached: Record<string, TemplateFunc> | undefined;

/** All sprig functions (a fresh copy of the shared table). */
export function sprigFunctions(): Record<string, TemplateFunc> {
  cached ??= {
    ...stringFunctions(),
    ...listFunctions(),
    ...dictFunctions(),
    ...mathFunctions(),
    ...dataFunctions(),
    ...cryptoFunctions(),
    ...regexFunctions(),
    ...dateFunctions(),
    ...semverFunctions(),
  };
  return { ...cached };
}
