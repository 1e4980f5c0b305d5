// Go's time layouts ("2006-01-02 15:04:05") for sprig's date functions, and time.Time's methods.
import { fixed, type TemplateFunc } from './func-types.js';
import { GoTime } from './value.js';
import { zoneFormatter } from './go-zone.js';

interface Fields {
  year: number;
  month: number; // 1-12
  day: number;
  hour: number;
  min: number;
  sec: number;
  weekday: number; // 0 = Sunday
  yday: number; // 1-366
  offset: number; // seconds east of UTC
  abbr: string;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

function fields(t: GoTime): Fields {
  let utc: Date;
  let offset = 0;
  let abbr = 'UTC';
  if (t.zone === 'UTC') {
    utc = new Date(t.ms);
  } else {
    const parts: Record<string, string> = {};
    for (const p of zoneFormatter(t.zone).formatToParts(new Date(t.ms))) parts[p.type] = p.value;
    const wall = Date.UTC(Number(parts.year), Number(parts.month) - 1, Number(parts.day), Number(parts.hour), Number(parts.minute), Number(parts.second));
    offset = Math.round((wall - Math.floor(t.ms / 1000) * 1000) / 1000);
    utc = new Date(wall);
    abbr = zoneAbbr(parts.timeZoneName ?? '', offset);
  }
  const start = Date.UTC(utc.getUTCFullYear(), 0, 1);
  return {
    year: utc.getUTCFullYear(),
    month: utc.getUTCMonth() + 1,
    day: utc.getUTCDate(),
    hour: utc.getUTCHours(),
    min: utc.getUTCMinutes(),
    sec: utc.getUTCSeconds(),
    weekday: utc.getUTCDay(),
    yday: Math.floor((utc.getTime() - start) / 86400000) + 1,
    offset,
    abbr,
  };
}

function zoneAbbr(name: string, offset: number): string {
  if (/^[A-Z]{3,5}$/.test(name) && name !== 'GMT') return name;
  if (offset === 0) return 'UTC';
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = String(Math.floor(a / 3600)).padStart(2, '0');
  const m = Math.floor((a % 3600) / 60);
  return sign + h + (m ? String(m).padStart(2, '0') : '');
}

const TOKENS = [
  'January',
  'Jan',
  'Monday',
  'Mon',
  'MST',
  '2006',
  '002',
  '01',
  '02',
  '03',
  '04',
  '05',
  '06',
  '__2',
  '_2',
  '15',
  'Z07:00:00',
  '-07:00:00',
  'Z0700',
  'Z07:00',
  'Z07',
  '-0700',
  '-07:00',
  '-07',
  'PM',
  'pm',
  '1',
  '2',
  '3',
  '4',
  '5',
];

function p2(n: number): string {
  return String(n).padStart(2, '0');
}

function zoneText(offset: number, token: string): string {
  if (token.startsWith('Z') && offset === 0) return 'Z';
  const sign = offset < 0 ? '-' : '+';
  const a = Math.abs(offset);
  const h = p2(Math.floor(a / 3600));
  const m = p2(Math.floor((a % 3600) / 60));
  const s = p2(a % 60);
  switch (token.replace('Z', '-')) {
    case '-07':
      return sign + h;
    case '-0700':
      return sign + h + m;
    case '-07:00':
      return sign + h + ':' + m;
    default:
      return sign + h + ':' + m + ':' + s;
  }
}

/** time.Time.Format(layout) */
export function formatTime(t: GoTime, layout: string): string {
  const f = fields(t);
  const nanos = (((t.ms % 1000) + 1000) % 1000) * 1e6 + t.nanos;
  let out = '';
  let i = 0;
  outer: while (i < layout.length) {
    // fractional seconds: .000 / ,999
    const c = layout[i];
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      const d = layout[i + 1]!;
      let j = i + 1;
      while (layout[j] === d) j++;
      if (!/[0-9]/.test(layout[j] ?? '')) {
        const digits = String(nanos)
          .padStart(9, '0')
          .slice(0, j - i - 1);
        if (d === '0') out += c + digits;
        else {
          const trimmed = digits.replace(/0+$/, '');
          if (trimmed) out += c + trimmed;
        }
        i = j;
        continue;
      }
    }
    for (const tok of TOKENS) {
      if (!layout.startsWith(tok, i)) continue;
      // "Jan"/"Mon" must not be the start of a longer lowercase word (Go: startsWithLowerCase).
      if ((tok === 'Jan' || tok === 'Mon') && /[a-z]/.test(layout[i + 3] ?? '')) continue;
      out += formatToken(tok, f);
      i += tok.length;
      continue outer;
    }
    out += c;
    i++;
  }
  return out;
}

function formatToken(tok: string, f: Fields): string {
  const hour12 = f.hour % 12 === 0 ? 12 : f.hour % 12;
  switch (tok) {
    case 'January':
      return MONTHS[f.month - 1]!;
    case 'Jan':
      return MONTHS[f.month - 1]!.slice(0, 3);
    case 'Monday':
      return DAYS[f.weekday]!;
    case 'Mon':
      return DAYS[f.weekday]!.slice(0, 3);
    case 'MST':
      return f.abbr;
    case '2006':
      return String(f.year).padStart(4, '0');
    case '06':
      return p2(f.year % 100);
    case '01':
      return p2(f.month);
    case '1':
      return String(f.month);
    case '02':
      return p2(f.day);
    case '_2':
      return String(f.day).padStart(2, ' ');
    case '2':
      return String(f.day);
    case '__2':
      return String(f.yday).padStart(3, ' ');
    case '002':
      return String(f.yday).padStart(3, '0');
    case '15':
      return p2(f.hour);
    case '03':
      return p2(hour12);
    case '3':
      return String(hour12);
    case '04':
      return p2(f.min);
    case '4':
      return String(f.min);
    case '05':
      return p2(f.sec);
    case '5':
      return String(f.sec);
    case 'PM':
      return f.hour >= 12 ? 'PM' : 'AM';
    case 'pm':
      return f.hour >= 12 ? 'pm' : 'am';
    default:
      return zoneText(f.offset, tok);
  }
}

/** time.ParseInLocation for the common numeric layouts; throws Go-like errors. */
export function parseTime(layout: string, value: string, zone: string): GoTime {
  const groups: string[] = [];
  let re = '^';
  let i = 0;
  outer: while (i < layout.length) {
    const c = layout[i]!;
    if ((c === '.' || c === ',') && (layout[i + 1] === '0' || layout[i + 1] === '9')) {
      let j = i + 1;
      while (layout[j] === layout[i + 1]) j++;
      re += '(?:[.,](\\d+))?';
      groups.push('frac');
      i = j;
      continue;
    }
    for (const tok of TOKENS) {
      if (!layout.startsWith(tok, i)) continue;
      const pattern: Record<string, string> = {
        January: '([A-Za-z]+)',
        Jan: '([A-Za-z]{3})',
        Monday: '[A-Za-z]+',
        Mon: '[A-Za-z]{3}',
        MST: '([A-Z]{3,5}|[+-]\\d+)',
        '2006': '(\\d{4})',
        '06': '(\\d{2})',
        '002': '(\\d{3})',
        __2: ' *(\\d{1,3})',
        PM: '(AM|PM)',
        pm: '(am|pm)',
        _2: ' ?(\\d{1,2})',
      };
      let p = pattern[tok];
      if (!p) {
        if (tok.includes('07')) p = tok.startsWith('Z') ? '(Z|[+-][\\d:]+)' : '([+-][\\d:]+)';
        else p = tok.length === 2 ? '(\\d{2})' : '(\\d{1,2})';
      }
      re += p;
      if (p.startsWith('(') || p.startsWith(' ')) groups.push(tok);
      i += tok.length;
      continue outer;
    }
    re += c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    i++;
  }
  const m = new RegExp(re + '$').exec(value);
  if (!m) throw new Error(`parsing time ${JSON.stringify(value)} as ${JSON.stringify(layout)}: cannot parse`);
  let year = 1,
    month = 1,
    day = 1,
    hour = 0,
    min = 0,
    sec = 0,
    nanos = 0;
  let pm: boolean | undefined;
  let offset: number | undefined;
  groups.forEach((g, k) => {
    const v = m[k + 1];
    if (v === undefined) return;
    switch (g) {
      case '2006':
        year = Number(v);
        break;
      case '06':
        year = Number(v) + (Number(v) >= 69 ? 1900 : 2000);
        break;
      case 'January':
      case 'Jan':
        month = MONTHS.findIndex((n) => n.toLowerCase().startsWith(v.toLowerCase())) + 1;
        break;
      case '01':
      case '1':
        month = Number(v);
        break;
      case '02':
      case '2':
      case '_2':
        day = Number(v);
        break;
      case '15':
        hour = Number(v);
        break;
      case '03':
      case '3':
        hour = Number(v) % 12;
        break;
      case '04':
      case '4':
        min = Number(v);
        break;
      case '05':
      case '5':
        sec = Number(v);
        break;
      case 'PM':
      case 'pm':
        pm = v.toUpperCase() === 'PM';
        break;
      case 'frac':
        nanos = Number(v.padEnd(9, '0').slice(0, 9));
        break;
      case 'MST':
        if (v === 'UTC' || v === 'GMT') offset = 0;
        break;
      default:
        if (g.includes('07')) {
          if (v === 'Z') offset = 0;
          else {
            const d = v.replace(/:/g, '');
            const sign = d[0] === '-' ? -1 : 1;
            offset = sign * (Number(d.slice(1, 3)) * 3600 + Number(d.slice(3, 5) || 0) * 60 + Number(d.slice(5, 7) || 0));
          }
        }
    }
  });
  if (pm) hour += 12;
  const wall = Date.UTC(year, month - 1, day, hour, min, sec);
  let ms: number;
  if (offset !== undefined) ms = wall - offset * 1000;
  else if (zone === 'UTC') ms = wall;
  else {
    // Wall clock in a zone: correct by the zone's offset at that instant (twice for DST edges).
    ms = wall;
    for (let k = 0; k < 2; k++) ms = wall - fields(new GoTime(ms, zone)).offset * 1000;
  }
  return new GoTime(ms, offset !== undefined && offset !== 0 && zone === 'UTC' ? 'UTC' : zone, nanos % 1e6);
}

/** Methods of time.Time reachable from templates, e.g. {{ now.Year }} or {{ (now).Format "2006" }}. */
export function timeMethod(t: GoTime, name: string): TemplateFunc | undefined {
  const f = (): Fields => fields(t);
  const methods: Record<string, TemplateFunc> = {
    Unix: fixed([], () => Math.floor(t.ms / 1000)),
    UnixMilli: fixed([], () => Math.floor(t.ms)),
    UnixNano: fixed([], () => Math.floor(t.ms) * 1e6 + t.nanos),
    Year: fixed([], () => f().year),
    Month: fixed([], () => MONTHS[f().month - 1]),
    Day: fixed([], () => f().day),
    Hour: fixed([], () => f().hour),
    Minute: fixed([], () => f().min),
    Second: fixed([], () => f().sec),
    Nanosecond: fixed([], () => (((t.ms % 1000) + 1000) % 1000) * 1e6 + t.nanos),
    YearDay: fixed([], () => f().yday),
    Weekday: fixed([], () => DAYS[f().weekday]),
    Format: fixed(['string'], (layout) => formatTime(t, layout)),
    String: fixed([], () => formatTime(t, '2006-01-02 15:04:05.999999999 -0700 MST')),
    UTC: fixed([], () => new GoTime(t.ms, 'UTC', t.nanos)),
    Local: fixed([], () => new GoTime(t.ms, 'Local', t.nanos)),
    IsZero: fixed([], () => t.ms === ZERO_TIME_MS && t.nanos === 0),
    Add: fixed(['int'], (d) => new GoTime(t.ms + Math.trunc(d / 1e6), t.zone, t.nanos)),
    AddDate: fixed(['int', 'int', 'int'], (y, m, d) => {
      const x = f();
      const wall = Date.UTC(x.year + y, x.month - 1 + m, x.day + d, x.hour, x.min, x.sec);
      return new GoTime(t.ms + (wall - Date.UTC(x.year, x.month - 1, x.day, x.hour, x.min, x.sec)), t.zone, t.nanos);
    }),
  };
  return Object.hasOwn(methods, name) ? methods[name] : undefined;
}

/** time.Time{} (January 1, year 1, 00:00:00 UTC) */
const ZERO_TIME_MS = new Date(0).setUTCFullYear(1, 0, 1);
