// werf path masks (includePaths, excludePaths, stageDependencies): doublestar globs relative to a
// mapping's `add`, with werf's 3-variant rule so that a mask naming a directory covers everything in it.
// Semantics follow werf pkg/path_matcher (werf-spec §5); the glob engine is ./glob.ts.
import { compileGlob, globSegments, globSource, invalidGlob, type GlobSegment } from './glob.js';

const DOT_SEGMENT = /(?:^|\/)\.\.?(?:\/|$)/;

/** filepath.Clean for `/`-separated relative paths, with werf's `""`/`"."` → `""`. */
export function cleanPath(p: string): string {
  if (p === '' || p === '.') return '';
  // Fast path: git never hands out unclean paths, and matching runs per file.
  if (p.charCodeAt(0) !== 47 && p.charCodeAt(p.length - 1) !== 47 && !p.includes('//') && !DOT_SEGMENT.test(p)) return p;
  const abs = p.startsWith('/');
  const out: string[] = [];
  for (const part of p.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..' && out.length > 0 && out[out.length - 1] !== '..') out.pop();
    else if (part === '..' && abs) continue;
    else out.push(part);
  }
  const joined = out.join('/');
  return abs ? `/${joined}` : joined;
}

/** A mask as werf stores it: cleaned; must stay relative and inside `add`. */
export function cleanMask(mask: string): string {
  const cleaned = cleanPath(mask);
  if (cleaned.startsWith('/')) throw invalidGlob(mask, 'masks are relative to the mapping\'s `add`; remove the leading "/"');
  if (cleaned === '..' || cleaned.startsWith('../')) throw invalidGlob(mask, 'a mask must not leave the mapping\'s `add` with ".."');
  return cleaned;
}

/**
 * werf's SafeTrimGlobsAndSlashesFromPath: drop trailing segments made only of `*`
 * (`dir/**` → `dir`, `a/*\/b/**\/*` → `a/*\/b`, `*` → ``).
 */
export function trimGlob(glob: string): string {
  const parts = glob.split('/').filter((s) => s !== '');
  while (parts.length > 0 && /^\**$/.test(parts[parts.length - 1] as string)) parts.pop();
  return parts.join('/');
}

/**
 * RegExp source (no anchors) for werf's isPathMatched(path, glob); undefined = universal.
 * werf tries the glob, trim(glob) and trim(glob) + "/**\/*". The first is implied by the other
 * two (glob = trim + segments made of `*`, so whatever those segments consume is either nothing
 * or a remainder that "/**\/*" matches), so one RegExp `trim(?:/.*)?` decides all three.
 */
function werfGlobSource(glob: string): string | undefined {
  const trimmed = trimGlob(glob);
  if (trimmed === '') return undefined; // "", ".", "*", "**", "*/**", "**/*": every path
  globSource(glob); // validates the untrimmed glob too (werf fails on it when it tries it first)
  return `${globSource(trimmed)}(?:/.*)?`;
}

/** werf's isPathMatched(path, glob) for one cleaned glob (for tests and one-off checks). */
export function werfGlobMatch(glob: string, path: string): boolean {
  return new MaskSet([glob]).matches(cleanPath(path));
}

/** doublestar's raw PathMatch (no werf rule, no cleaning). */
export function doublestarMatch(glob: string, path: string): boolean {
  return compileGlob(glob).test(path);
}

/** What a set of masks decides for everything below a directory. */
export type DirDecision = 'all' | 'some' | 'none';

/** A list of masks, any of which may match; compiled once into one RegExp. */
export class MaskSet {
  readonly masks: readonly string[];
  readonly universal: boolean;
  private readonly re: RegExp | undefined;
  private readonly variants: GlobSegment[][];

  constructor(masks: readonly string[]) {
    this.masks = masks.map(cleanMask);
    const sources: string[] = [];
    this.variants = [];
    let universal = false;
    for (const glob of this.masks) {
      const src = werfGlobSource(glob);
      if (src === undefined) {
        universal = true;
        continue;
      }
      sources.push(src);
      // In-progress checks need variants 1 and 2 only: a directory below which variant 3
      // could match is either in progress for variant 2 or matched outright.
      const trimmed = trimGlob(glob);
      this.variants.push(...globSegments(glob));
      if (trimmed !== glob) this.variants.push(...globSegments(trimmed));
    }
    this.universal = universal;
    this.re = universal || sources.length === 0 ? undefined : new RegExp(`^(?:${sources.join('|')})$`, 'su');
  }

  get empty(): boolean {
    return this.masks.length === 0;
  }

  /** `rel` is cleaned and relative to the mapping's `add`. */
  matches(rel: string): boolean {
    if (this.universal) return true;
    return this.re?.test(rel) ?? false;
  }

  /**
   * For a directory `rel`: 'all' if it is matched (then so is everything below it, by the
   * 3-variant rule), 'some' if a mask is still in progress, 'none' if nothing below can match.
   */
  decide(rel: string): DirDecision {
    if (this.matches(rel)) return 'all';
    const parts = rel === '' ? [] : rel.split('/');
    for (const segments of this.variants) if (inProgress(segments, parts)) return 'some';
    return 'none';
  }
}

/** Could some path strictly below `parts` match `segments`? (an NFA over glob segments) */
function inProgress(segments: GlobSegment[], parts: string[]): boolean {
  let states = closure(segments, new Set([0]));
  for (const part of parts) {
    const next = new Set<number>();
    for (const s of states) {
      const seg = segments[s];
      if (seg === undefined) continue;
      if (seg === 'globstar') next.add(s);
      else if (seg.test(part)) next.add(s + 1);
    }
    if (next.size === 0) return false;
    states = closure(segments, next);
  }
  for (const s of states) if (s < segments.length) return true;
  return false;
}

function closure(segments: GlobSegment[], states: Set<number>): Set<number> {
  for (const s of states) if (segments[s] === 'globstar') states.add(s + 1);
  return states;
}

export interface PathMatcherOptions {
  /** The mapping's `add`: repo-relative (a leading `/` is accepted), `""` or `/` for the root. */
  basePath?: string;
  includePaths?: readonly string[];
  excludePaths?: readonly string[];
  /** Further mask lists that must each match too (stageDependencies: mapping filters AND the masks). */
  alsoRequire?: readonly (readonly string[])[];
}

/**
 * werf's git-mapping matcher: a path is matched if it is `basePath` or below it, and its path
 * relative to `basePath` matches any include (of every include group) and no exclude.
 */
export class PathMatcher {
  readonly basePath: string;
  readonly options: PathMatcherOptions;
  private readonly includeGroups: MaskSet[];
  private readonly exclude: MaskSet;

  constructor(options: PathMatcherOptions = {}) {
    this.options = options;
    this.basePath = cleanPath((options.basePath ?? '').replace(/^\/+/, ''));
    this.includeGroups = [options.includePaths ?? [], ...(options.alsoRequire ?? [])]
      .map((masks) => new MaskSet(masks))
      .filter((g) => !g.empty && !g.universal);
    this.exclude = new MaskSet(options.excludePaths ?? []);
  }

  /** This matcher AND "matches one of `masks`". */
  withMasks(masks: readonly string[]): PathMatcher {
    return new PathMatcher({ ...this.options, alsoRequire: [...(this.options.alsoRequire ?? []), masks] });
  }

  /** Path relative to basePath (`""` for basePath itself), or undefined when outside it. */
  relative(path: string): string | undefined {
    const base = this.basePath;
    if (base === '') return path;
    if (path === base) return '';
    if (path.length > base.length && path.charCodeAt(base.length) === 47 && path.startsWith(base)) {
      return path.slice(base.length + 1);
    }
    return undefined;
  }

  /** Is this repo-relative path (file, or directory taken whole) selected? */
  isPathMatched(path: string): boolean {
    const rel = this.relative(cleanPath(path));
    if (rel === undefined) return false;
    for (const group of this.includeGroups) if (!group.matches(rel)) return false;
    return !(this.exclude.universal || (!this.exclude.empty && this.exclude.matches(rel)));
  }

  /**
   * Should a tree walk descend into this repo-relative directory? False when nothing below it can
   * match, and false when it is matched as a whole (then isPathMatched(dir) is true).
   */
  shouldGoThrough(dir: string): boolean {
    const path = cleanPath(dir);
    const base = this.basePath;
    if (base !== '' && (path === '' || base.startsWith(`${path}/`))) return true; // above `add`
    const rel = this.relative(path);
    if (rel === undefined) return false;
    let whole = true;
    for (const group of this.includeGroups) {
      const d = group.decide(rel);
      if (d === 'none') return false;
      if (d === 'some') whole = false;
    }
    if (!this.exclude.empty) {
      const d = this.exclude.universal ? 'all' : this.exclude.decide(rel);
      if (d === 'all') return false;
      if (d === 'some') whole = false;
    }
    return !whole;
  }

  /**
   * Literal repo-relative directories that contain every possible match, for git pathspecs:
   * basePath joined with the non-glob leading segments of each include (of the most selective group).
   */
  literalPrefixes(): string[] {
    const join = (rel: string): string => (this.basePath === '' ? rel : rel === '' ? this.basePath : `${this.basePath}/${rel}`);
    let best: string[] = [join('')];
    for (const group of this.includeGroups) {
      const prefixes = group.masks.map(literalPrefix);
      if (prefixes.some((p) => p === '')) continue;
      const joined = [...new Set(prefixes.map(join))].sort();
      if (best.length === 1 && best[0] === join('')) best = joined;
    }
    return best;
  }
}

/** Leading segments of a glob that contain no meta characters (`src/app/*.js` → `src/app`). */
function literalPrefix(glob: string): string {
  const parts = glob.split('/');
  const out: string[] = [];
  for (const part of parts) {
    if (/[*?[{\\]/.test(part)) break;
    out.push(part);
  }
  return out.join('/');
}
