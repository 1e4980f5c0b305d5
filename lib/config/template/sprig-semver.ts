// sprig's semver and semverCompare on Masterminds/semver v3 rules: loose versions ("v1.2"),
// constraints with = != > < >= <= ~ ^, wildcards, hyphen ranges, "," / space AND and "||" OR;
// pre-release versions only satisfy constraints that themselves name a pre-release.
import { FuncError } from './template-error.js';

const VERSION = /^v?([0-9]+)(?:\.([0-9]+))?(?:\.([0-9]+))?(?:-([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$/;

/** *semver.Version: methods are reachable from templates ({{ (semver "1.2.3").Major }}). */
export class SemverVersion {
  constructor(
    readonly major: number,
    readonly minor: number,
    readonly patch: number,
    readonly pre: string,
    readonly metadata: string,
    readonly original: string,
  ) {}

  static parse(v: string): SemverVersion {
    const m = VERSION.exec(v);
    if (!m) throw new FuncError('Invalid Semantic Version');
    const pre = m[4] ?? '';
    for (const part of pre.split('.')) {
      if (/^0\d+$/.test(part)) throw new FuncError('Version segment starts with 0');
    }
    return new SemverVersion(Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0), pre, m[5] ?? '', v);
  }

  Major(): number {
    return this.major;
  }
  Minor(): number {
    return this.minor;
  }
  Patch(): number {
    return this.patch;
  }
  Prerelease(): string {
    return this.pre;
  }
  Metadata(): string {
    return this.metadata;
  }
  Original(): string {
    return this.original;
  }
  String(): string {
    return `${this.major}.${this.minor}.${this.patch}${this.pre ? '-' + this.pre : ''}${this.metadata ? '+' + this.metadata : ''}`;
  }
  Compare(o: SemverVersion): number {
    return compareVersions(this, o);
  }
  LessThan(o: SemverVersion): boolean {
    return compareVersions(this, o) < 0;
  }
  GreaterThan(o: SemverVersion): boolean {
    return compareVersions(this, o) > 0;
  }
  Equal(o: SemverVersion): boolean {
    return compareVersions(this, o) === 0;
  }
  IncMajor(): SemverVersion {
    return new SemverVersion(this.major + 1, 0, 0, '', '', `${this.major + 1}.0.0`);
  }
  IncMinor(): SemverVersion {
    return new SemverVersion(this.major, this.minor + 1, 0, '', '', `${this.major}.${this.minor + 1}.0`);
  }
  IncPatch(): SemverVersion {
    const p = this.pre ? this.patch : this.patch + 1;
    return new SemverVersion(this.major, this.minor, p, '', '', `${this.major}.${this.minor}.${p}`);
  }
}

function comparePre(a: string, b: string): number {
  if (a === b) return 0;
  if (a === '') return 1;
  if (b === '') return -1;
  const pa = a.split('.');
  const pb = b.split('.');
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const x = pa[i];
    const y = pb[i];
    if (x === undefined) return -1;
    if (y === undefined) return 1;
    if (x === y) continue;
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) return Number(x) < Number(y) ? -1 : 1;
    if (nx) return -1;
    if (ny) return 1;
    return x < y ? -1 : 1;
  }
  return 0;
}

function compareVersions(a: SemverVersion, b: SemverVersion): number {
  for (const k of ['major', 'minor', 'patch'] as const) {
    if (a[k] !== b[k]) return a[k] < b[k] ? -1 : 1;
  }
  return comparePre(a.pre, b.pre);
}

interface Constraint {
  op: string;
  v: SemverVersion;
  /** how many of major/minor/patch were given without a wildcard (0-3) */
  fixed: number;
}

const CONSTRAINT = /^\s*(=>|=<|>=|<=|!=|~>|[=<>~^])?\s*v?(\*|[xX]|\d+)(?:\.(\*|[xX]|\d+))?(?:\.(\*|[xX]|\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?\s*$/;

function parseOne(s: string, whole: string): Constraint {
  const m = CONSTRAINT.exec(s);
  if (!m) throw new FuncError(`improper constraint: ${whole}`);
  const parts = [m[2], m[3], m[4]];
  let fixedCount = 0;
  for (const p of parts) {
    if (p === undefined || /^[xX*]$/.test(p)) break;
    fixedCount++;
  }
  const nums = parts.map((p, i) => (i < fixedCount ? Number(p) : 0));
  const op = { '=>': '>=', '=<': '<=', '~>': '~' }[m[1] ?? ''] ?? m[1] ?? '';
  return { op, v: new SemverVersion(nums[0]!, nums[1]!, nums[2]!, m[5] ?? '', '', s), fixed: fixedCount };
}

function check(c: Constraint, v: SemverVersion): boolean {
  if (v.pre !== '' && c.v.pre === '') return false;
  const cmp = compareVersions(v, c.v);
  const upper = (level: number): SemverVersion => {
    // the first version above the range fixed by `level` components
    if (level <= 0) return new SemverVersion(Infinity, 0, 0, '', '', '');
    if (level === 1) return new SemverVersion(c.v.major + 1, 0, 0, '', '', '');
    if (level === 2) return new SemverVersion(c.v.major, c.v.minor + 1, 0, '', '', '');
    return new SemverVersion(c.v.major, c.v.minor, c.v.patch + 1, '', '', '');
  };
  const inRange = (level: number): boolean => cmp >= 0 && compareVersions(v, upper(level)) < 0;
  switch (c.op) {
    case '':
    case '=':
      return c.fixed === 3 ? cmp === 0 : inRange(c.fixed);
    case '!=':
      return !(c.fixed === 3 ? cmp === 0 : inRange(c.fixed));
    case '>':
      return c.fixed === 3 ? cmp > 0 : compareVersions(v, upper(c.fixed)) >= 0;
    case '<':
      return cmp < 0;
    case '>=':
      return cmp >= 0;
    case '<=':
      return c.fixed === 3 ? cmp <= 0 : compareVersions(v, upper(c.fixed)) < 0;
    case '~':
      return inRange(c.fixed >= 2 ? 2 : 1);
    case '^': {
      let level = 1;
      if (c.v.major === 0) {
        if (c.fixed >= 3 && c.v.minor === 0) level = 3;
        else if (c.fixed >= 2) level = 2;
      }
      return inRange(c.fixed === 0 ? 0 : level);
    }
    default:
      return false;
  }
}

/** semver.NewConstraint(c).Check(v) */
export function semverCompare(constraint: string, version: string): boolean {
  const v = SemverVersion.parse(version);
  const groups = constraint.split('||');
  for (const g of groups) {
    const text = g.trim().replace(/\s+-\s+/g, ' - ');
    const tokens: Constraint[] = [];
    const hyphen = /^(\S+) - (\S+)$/.exec(text);
    if (hyphen) {
      tokens.push(parseOne('>=' + hyphen[1], constraint), parseOne('<=' + hyphen[2], constraint));
    } else {
      const items = text
        .replace(/(=>|=<|>=|<=|!=|~>|[=<>~^])\s+/g, '$1')
        .split(/[\s,]+/)
        .filter((s) => s !== '');
      if (items.length === 0) throw new FuncError(`improper constraint: ${constraint}`);
      for (const item of items) tokens.push(parseOne(item, constraint));
    }
    if (tokens.every((t) => check(t, v))) return true;
  }
  return false;
}
