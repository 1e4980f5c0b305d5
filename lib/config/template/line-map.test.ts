import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { TemplateSet } from './index.js';

function origins(set: TemplateSet, name: string, data: unknown = {}): string[] {
  const { text, lineMap } = set.executeWithLineMap(name, data);
  return text.split('\n').map((l, i) => {
    const o = lineMap.origin(i + 1);
    return `${l} <- ${o ? `${o.name}:${o.line}` : '?'}`;
  });
}

test('plain text lines map to themselves', () => {
  const set = new TemplateSet().parse('w', 'a: 1\nb: 2\n\nc: 3');
  assert.deepEqual(origins(set, 'w'), ['a: 1 <- w:1', 'b: 2 <- w:2', ' <- w:3', 'c: 3 <- w:4']);
});

test('range bodies map every copy to the template lines, actions to their own line', () => {
  const set = new TemplateSet().parse('w', 'head\n{{- range list "a" "b" }}\nimage: {{ . }}\nfrom: x\n{{- end }}\ntail');
  assert.deepEqual(origins(set, 'w'), ['head <- w:1', 'image: a <- w:3', 'from: x <- w:4', 'image: b <- w:3', 'from: x <- w:4', 'tail <- w:6']);
  const multi = new TemplateSet().parse('w', 'x: |\n{{ "one\\ntwo" | indent 2 }}\ny: 1');
  assert.deepEqual(origins(multi, 'w'), ['x: | <- w:1', '  one <- w:2', '  two <- w:2', 'y: 1 <- w:3']);
});

test('include piped through nindent keeps the included template lines', () => {
  const set = new TemplateSet()
    .parse('inst.tmpl', '- apk add curl\n- echo {{ .v }}')
    .parse('w', 'shell:\n  install:\n  {{- include "inst.tmpl" . | nindent 2 }}\nnext: 1');
  assert.deepEqual(origins(set, 'w', { v: 'hi' }), [
    'shell: <- w:1',
    '  install: <- w:2',
    '  - apk add curl <- inst.tmpl:1',
    '  - echo hi <- inst.tmpl:2',
    'next: 1 <- w:4',
  ]);
});

test('{{template}} and {{define}} map to the file that defines them; tpl to its tpl template', () => {
  const set = new TemplateSet()
    .parse('defs.tmpl', '\n{{ define "img" }}\nimage: {{ . }}\nfrom: alpine\n{{- end }}')
    .parse('w', 'project: p\n{{- template "img" "a" }}\n{{ tpl "k: 1\\nbad: {{ 2 }}" . }}');
  const lines = origins(set, 'w');
  assert.deepEqual(lines.slice(0, 3), ['project: p <- w:1', 'image: a <- defs.tmpl:3', 'from: alpine <- defs.tmpl:4']);
  assert.match(lines[3]!, /^k: 1 <- tpl-[0-9a-f]{8}:1$/);
  assert.match(lines[4]!, /^bad: 2 <- tpl-[0-9a-f]{8}:2$/);
});

test('a million output lines are mapped without an object per line', () => {
  // Memory, not a stopwatch (test files share the machine): what the map keeps alive on the V8 heap
  // after a collection. Typed arrays live outside it; an object per line would be tens of MB.
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const set = new TemplateSet().parse('w', 'a: 1\n{{ range 1000000 }}x\n{{ end }}z');
  gc();
  const before = process.memoryUsage().heapUsed;
  const { lineMap } = set.executeWithLineMap('w', {});
  gc();
  const kept = process.memoryUsage().heapUsed - before;
  assert.deepEqual(lineMap.origin(1), { name: 'w', line: 1 });
  assert.deepEqual(lineMap.origin(500000), { name: 'w', line: 2 });
  assert.deepEqual(lineMap.origin(1000002), { name: 'w', line: 3 });
  assert.ok(kept < 16 << 20, `the line map keeps ${(kept / (1 << 20)).toFixed(1)} MiB on the heap`);
});
