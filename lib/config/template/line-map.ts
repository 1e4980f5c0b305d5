// Which template line wrote each line of the output, so config errors found in the rendered text can
// also name the template (werf.yaml, a .werf/*.tmpl, a tpl'd file) and line that produced it.

export interface LineOrigin {
  /** template (file) name, as in TemplateError.templateName */
  name: string;
  /** 1-based line in that template */
  line: number;
}

/** Origin of a write: text nodes advance with the template text, action results stay on one line. */
export interface WriteOrigin extends LineOrigin {
  advance: boolean;
}

// A hostile template can write millions of lines; past this many segments later lines stay unmapped.
const MAX_SEGMENTS = 1 << 21;

/**
 * Segments of output lines: from output line `out` on, lines come from `line` of template `name`
 * (plus the distance from `out` when the segment advances). Stored in typed arrays: a large
 * render must not cost an object per line.
 */
export class LineMap {
  private out = new Int32Array(64);
  private line = new Int32Array(64);
  /** name index << 1 | advance */
  private meta = new Int32Array(64);
  private count = 0;
  private readonly names: string[] = [];
  private readonly nameIndex = new Map<string, number>();
  /** number of newlines written so far: the 0-based index of the current output line */
  private current = 0;
  /** whether the current output line already has an origin */
  private lineHasOrigin = false;

  /** Records a write of `text` (already accepted by the output) made on behalf of `origin`. */
  record(text: string, origin: WriteOrigin): void {
    if (text.length === 0) return;
    if (!this.lineHasOrigin) this.push(this.current, origin.name, origin.line, origin.advance);
    const first = text.indexOf('\n');
    if (first < 0) {
      this.lineHasOrigin = true;
      return;
    }
    let newlines = 0;
    for (let i = first; i >= 0; i = text.indexOf('\n', i + 1)) newlines++;
    if (first + 1 < text.length) {
      // Lines after the first newline belong to this write, whoever started the current line.
      this.push(this.current + 1, origin.name, origin.advance ? origin.line + 1 : origin.line, origin.advance);
    }
    this.current += newlines;
    // A write ending with a newline leaves the next line to whoever writes on it.
    this.lineHasOrigin = !text.endsWith('\n');
  }

  /** Origin of 1-based output line `n`, if recorded. */
  origin(n: number): LineOrigin | undefined {
    const target = n - 1;
    let lo = 0;
    let hi = this.count - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.out[mid]! <= target) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (found < 0) return undefined;
    const meta = this.meta[found]!;
    const advance = (meta & 1) === 1;
    return { name: this.names[meta >> 1]!, line: this.line[found]! + (advance ? target - this.out[found]! : 0) };
  }

  /** Does the last segment already give `line` for output line `out`? */
  private covers(out: number, name: string, line: number, advance: boolean): boolean {
    if (this.count === 0) return false;
    const i = this.count - 1;
    const meta = this.meta[i]!;
    if (this.names[meta >> 1] !== name || ((meta & 1) === 1) !== advance) return false;
    return this.line[i]! + (advance ? out - this.out[i]! : 0) === line;
  }

  private push(out: number, name: string, line: number, advance: boolean): void {
    if (this.count >= MAX_SEGMENTS) return;
    if (this.covers(out, name, line, advance)) return;
    if (this.count === this.out.length) {
      const grow = (a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const b = new Int32Array(a.length * 2);
        b.set(a);
        return b;
      };
      this.out = grow(this.out);
      this.line = grow(this.line);
      this.meta = grow(this.meta);
    }
    let idx = this.nameIndex.get(name);
    if (idx === undefined) {
      idx = this.names.length;
      this.names.push(name);
      this.nameIndex.set(name, idx);
    }
    this.out[this.count] = out;
    this.line[this.count] = line;
    this.meta[this.count] = (idx << 1) | (advance ? 1 : 0);
    this.count++;
  }
}

/** The output of an include/tpl call with its line map, remembered to attribute text printed later. */
export interface NestedOutput {
  text: string;
  map: LineMap;
}

const MAX_ALIGN_BYTES = 4 << 20;
const SEARCH_WINDOW = 64;

/**
 * Per-line origins for `printed`, a string an action prints, when it is (a transformation of) the
 * output of an earlier include/tpl: `include "x" . | nindent 4`, `tpl $file $ctx`, `trim`, `replace`…
 * Lines are matched by their trimmed text in order; unmatched lines get undefined (the action's line).
 */
export function alignNested(printed: string, candidates: readonly NestedOutput[]): Array<LineOrigin | undefined> | undefined {
  if (printed.length > MAX_ALIGN_BYTES || !printed.includes('\n')) return undefined;
  const lines = printed.split('\n').map((l) => l.trim());
  const wanted = lines.filter((l) => l !== '').length;
  if (wanted === 0) return undefined;
  let best: Array<LineOrigin | undefined> | undefined;
  let bestMatches = 0;
  for (let c = candidates.length - 1; c >= 0; c--) {
    const cand = candidates[c]!;
    if (cand.text.length > MAX_ALIGN_BYTES) continue;
    const candLines = cand.text.split('\n').map((l) => l.trim());
    const origins: Array<LineOrigin | undefined> = [];
    let j = 0;
    let matches = 0;
    for (const l of lines) {
      let hit = -1;
      if (l !== '') {
        for (let k = j; k < candLines.length && k < j + SEARCH_WINDOW; k++) {
          if (candLines[k] === l) {
            hit = k;
            break;
          }
        }
      }
      if (hit >= 0) {
        origins.push(cand.map.origin(hit + 1));
        matches++;
        j = hit + 1;
      } else origins.push(undefined);
    }
    if (matches > bestMatches) {
      best = origins;
      bestMatches = matches;
      if (matches === wanted) break;
    }
  }
  return bestMatches * 2 >= wanted ? best : undefined;
}
