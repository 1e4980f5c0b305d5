// Split a rendered werf.yaml into documents like werf does (a line that is exactly `---`, optionally
// followed by spaces or a comment) and parse each in YAML 1.1 mode, keeping node positions.
import { parseDocument, LineCounter, isMap, type Document, type Node } from 'yaml';
import { configErrorAt, type Locator } from './locate.js';

export interface ParsedDoc {
  doc: Document.Parsed;
  /** 0-based line of the document's first line within the rendered text. */
  lineOffset: number;
  lineCounter: LineCounter;
  file: string;
  /** The document's own text (node ranges are offsets into it). */
  text: string;
  /** Maps rendered lines to the template lines that produced them. */
  locate?: Locator;
}

/** Alias expansions allowed per document (yaml's default is 100; go-yaml v2 also caps aliasing). */
export const MAX_ALIAS_COUNT = 1000;

const SEPARATOR = /^---[ \t]*(#.*)?$/;

export function splitAndParse(rendered: string, file: string, locate?: Locator): ParsedDoc[] {
  const lines = rendered.split('\n');
  const chunks: Array<{ start: number; text: string }> = [];
  let start = 0;
  let buf: string[] = [];
  lines.forEach((line, i) => {
    if (SEPARATOR.test(line.replace(/\r$/, ''))) {
      chunks.push({ start, text: buf.join('\n') });
      buf = [];
      start = i + 1;
    } else {
      buf.push(line);
    }
  });
  chunks.push({ start, text: buf.join('\n') });

  const docs: ParsedDoc[] = [];
  for (const chunk of chunks) {
    if (!chunk.text.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#'))) continue;
    const lineCounter = new LineCounter();
    const doc = parseDocument(chunk.text, {
      version: '1.1',
      lineCounter,
      uniqueKeys: true,
      prettyErrors: true,
    });
    // Alias bombs: yaml's toJS() caps alias expansion (maxAliasCount, default 100) when we read values.
    const err = doc.errors[0];
    if (err && /call stack/i.test(err.message)) {
      throw configErrorAt('invalid YAML: the document is nested too deeply', { file, line: chunk.start + 1, code: 'TSB_CONFIG_YAML' }, locate);
    }
    if (err) {
      const pos = err.linePos?.[0];
      throw configErrorAt(
        `invalid YAML: ${err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '')}`,
        { file, line: (pos?.line ?? 1) + chunk.start, ...(pos?.col !== undefined ? { column: pos.col } : {}), code: 'TSB_CONFIG_YAML' },
        locate,
      );
    }
    if (doc.contents !== null && !isMap(doc.contents)) {
      throw configErrorAt('each YAML document must be a mapping (key: value pairs)', { file, line: chunk.start + 1, code: 'TSB_CONFIG_YAML' }, locate);
    }
    try {
      // Expands every alias once with a budget: a "billion laughs" document fails here, not later.
      doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (e) {
      const message = (e as Error).message;
      const why =
        e instanceof RangeError
          ? 'the document is nested too deeply'
          : /excessive alias/i.test(message)
            ? `aliases expand to more than ${MAX_ALIAS_COUNT} nodes (an alias bomb?)`
            : message;
      throw configErrorAt(`invalid YAML: ${why}`, { file, line: chunk.start + 1, code: 'TSB_CONFIG_YAML' }, locate);
    }
    docs.push({ doc, lineOffset: chunk.start, lineCounter, file, text: chunk.text, ...(locate ? { locate } : {}) });
  }
  return docs;
}

export function nodeLine(pd: ParsedDoc, node: Node | null | undefined): { line: number; column: number } {
  const offset = node?.range?.[0] ?? 0;
  const pos = pd.lineCounter.linePos(offset);
  return { line: pos.line + pd.lineOffset, column: pos.col };
}
