// Typed, position-aware access to a YAML mapping: every error names the file and line.
import { isAlias, isMap, isScalar, isSeq, type Node, type Pair, type YAMLMap } from 'yaml';
import { closest } from './suggest.js';
import { configErrorAt } from './locate.js';
import { MAX_ALIAS_COUNT, nodeLine, type ParsedDoc } from './yaml-docs.js';
import type { SourcePosition } from './types.js';

export class MapReader {
  readonly pairs = new Map<string, Pair<unknown, unknown>>();

  constructor(
    readonly pd: ParsedDoc,
    readonly node: YAMLMap<unknown, unknown>,
    /** Dotted path for messages, e.g. "image backend: shell". */
    public where: string,
  ) {
    for (const pair of node.items) {
      const key = keyText(pd, pair);
      this.pairs.set(key, pair);
    }
  }

  position(key?: string): SourcePosition {
    const pair = key === undefined ? undefined : this.pairs.get(key);
    const target = (pair?.key ?? this.node) as Node;
    const { line, column } = nodeLine(this.pd, target);
    return { file: this.pd.file, line, column };
  }

  /**
   * Where `key` (or item `index` of its list) was written, as a user reads it: the source file and
   * line through the template's line map (a warning has no "rendered line" to fall back on).
   */
  sourceOf(key: string, index?: number): SourcePosition {
    let node = (this.pairs.get(key)?.key ?? this.node) as Node;
    const value = index === undefined ? undefined : this.valueNode(key);
    if (value && isSeq(value) && value.items[index!]) node = value.items[index!] as Node;
    const { line, column } = nodeLine(this.pd, node);
    const origin = this.pd.locate?.(line);
    if (origin && !(origin.file === this.pd.file && origin.line === line)) return { file: origin.file, line: origin.line };
    return { file: this.pd.file, line, column };
  }

  fail(message: string, key?: string, hint?: string): never {
    const pos = this.position(key);
    throw configErrorAt(message, pos, this.pd.locate, hint ? { hint } : {});
  }

  has(key: string): boolean {
    return this.pairs.has(key);
  }

  /** Reject unknown keys with a suggestion; `ignored` keys are accepted and skipped. */
  checkKeys(allowed: readonly string[], ignored: readonly string[] = []): void {
    for (const key of this.pairs.keys()) {
      if (allowed.includes(key) || ignored.includes(key)) continue;
      const guess = closest(key, [...allowed, ...ignored]);
      this.fail(`unknown key "${key}" in ${this.where}${guess ? ` — did you mean "${guess}"?` : ''}`, key, `supported keys here: ${allowed.join(', ')}`);
    }
  }

  valueNode(key: string): Node | undefined {
    return this.deref(this.pairs.get(key)?.value as Node | null | undefined);
  }

  /** `*name` reads as the anchored node (`from: *base`). */
  deref(v: Node | null | undefined): Node | undefined {
    if (v && isAlias(v)) return (v.resolve(this.pd.doc) as Node | undefined) ?? undefined;
    return v ?? undefined;
  }

  isNull(key: string): boolean {
    const v = this.valueNode(key);
    return v === undefined || (isScalar(v) && v.value === null);
  }

  /** A scalar as werf's typed string fields see it: the text as written (so `1.10` stays "1.10"). */
  str(key: string): string | undefined {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return undefined;
    if (!isScalar(v)) this.fail(`${this.where}: "${key}" must be a string`, key);
    return scalarText(this.pd, v);
  }

  requireStr(key: string): string {
    const s = this.str(key);
    if (s === undefined || s === '') this.fail(`${this.where}: "${key}" is required and must be a non-empty string`, key);
    return s;
  }

  bool(key: string): boolean | undefined {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return undefined;
    if (!isScalar(v) || typeof v.value !== 'boolean') this.fail(`${this.where}: "${key}" must be true or false`, key);
    return v.value as boolean;
  }

  /** A non-negative integer (werf's int fields: healthcheck seconds, limits). */
  int(key: string): number | undefined {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return undefined;
    if (!isScalar(v) || typeof v.value !== 'number' || !Number.isInteger(v.value) || v.value < 0) {
      this.fail(`${this.where}: "${key}" must be a non-negative integer`, key);
    }
    return v.value as number;
  }

  /** A list of strings only (werf's []string fields reject a plain string). */
  strictList(key: string): string[] {
    const v = this.valueNode(key);
    if (v !== undefined && isScalar(v) && v.value !== null) this.fail(`${this.where}: "${key}" must be a list of strings`, key);
    return this.strList(key);
  }

  /** A string or a list of strings (werf accepts both for masks, VOLUME, commands...). */
  strList(key: string): string[] {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return [];
    if (isScalar(v)) return [scalarText(this.pd, v)];
    if (isSeq(v)) {
      return v.items.map((raw) => {
        const item = this.deref(raw as Node);
        if (!item || !isScalar(item)) this.fail(`${this.where}: every item of "${key}" must be a string`, key);
        return scalarText(this.pd, item);
      });
    }
    this.fail(`${this.where}: "${key}" must be a string or a list of strings`, key);
  }

  map(key: string, where: string): MapReader | undefined {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return undefined;
    if (!isMap(v)) this.fail(`${this.where}: "${key}" must be a mapping`, key);
    return new MapReader(this.pd, v as YAMLMap<unknown, unknown>, where);
  }

  /** A list of mappings. */
  mapList(key: string, where: (i: number) => string): MapReader[] {
    const v = this.valueNode(key);
    if (v === undefined || (isScalar(v) && v.value === null)) return [];
    if (!isSeq(v)) this.fail(`${this.where}: "${key}" must be a list`, key);
    return v.items.map((raw, i) => {
      const item = this.deref(raw as Node);
      if (!isMap(item)) this.fail(`${this.where}: item ${i + 1} of "${key}" must be a mapping`, key);
      return new MapReader(this.pd, item as YAMLMap<unknown, unknown>, where(i));
    });
  }

  /** A mapping of string keys to scalar values (ENV, LABEL). */
  strMap(key: string): Record<string, string> {
    const m = this.map(key, `${this.where}.${key}`);
    const out: Record<string, string> = {};
    if (!m) return out;
    for (const [k, pair] of m.pairs) {
      const v = m.deref(pair.value as Node | null) ?? null;
      if (v !== null && v !== undefined && !isScalar(v)) m.fail(`${m.where}: value of "${k}" must be a string`, k);
      out[k] = v === null || v === undefined || (isScalar(v) && v.value === null) ? '' : scalarText(this.pd, v);
    }
    return out;
  }

  /** The plain JS value of a key (for ansible tasks and other free-form data). */
  json(key: string): unknown {
    const v = this.valueNode(key);
    if (v === undefined) return undefined;
    // With the document as context so aliases resolve (a bare toJSON() leaves them as {source}).
    const ctx = { doc: this.pd.doc, anchors: new Map(), keep: false, mapAsMap: false, mapKeyWarned: false, maxAliasCount: MAX_ALIAS_COUNT };
    return (v as unknown as { toJSON(arg: unknown, ctx: unknown): unknown }).toJSON(undefined, ctx);
  }
}

function keyText(pd: ParsedDoc, pair: Pair<unknown, unknown>): string {
  const k = pair.key as Node | null;
  if (k && isScalar(k)) return scalarText(pd, k);
  return String(k);
}

function scalarText(pd: ParsedDoc, node: Node): string {
  if (!isScalar(node)) return String(node);
  const v = node.value;
  if (typeof v === 'string') return v;
  if (v === null) return '';
  // Plain scalars that YAML 1.1 turned into numbers/booleans keep their text, as go-yaml's string fields do.
  if (node.type === 'PLAIN' && node.range) return pd.text.slice(node.range[0], node.range[1]).trim();
  return String(v);
}
