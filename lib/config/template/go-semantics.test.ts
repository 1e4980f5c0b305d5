// Table of Go text/template behaviours (expected outputs checked against Go 1.19's text/template
// where the feature exists there; range over integers and {{else with}} follow Go 1.22/1.23 docs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError, TemplateSet, fixed } from './index.js';

/** [template, data, expected output | { err: substring }] */
export type Case = [string, unknown, string | { err: string }];

class Files {
  Get(path: string): string {
    return 'content of ' + path;
  }
}

/** Functions the Go reference program also defines, so these cases run there unchanged. */
const goFuncs = {
  upper: fixed(['string'], (s) => s.toUpperCase()),
};

export const GO_CASES: Case[] = [
  // text, trimming, comments
  ['plain text', undefined, 'plain text'],
  ['a  {{- 1 -}}  b', undefined, 'a1b'],
  ['a {{- /* c */ -}} b', undefined, 'ab'],
  ['x {{/* comment */}} y', undefined, 'x  y'],
  ['a\n  {{- "b" }}\n', undefined, 'ab\n'],
  ['{{ "a" -}}\n\n  b', undefined, 'ab'],
  ['{{-3}}', undefined, '-3'],
  ['{{ 1 }}\n{{- 2 }}', undefined, '12'],
  ['{{- /* only */ -}}\n', undefined, ''],
  // literals
  ['{{ 3 }} {{ -3 }} {{ 1.5 }} {{ 1e6 }} {{ 1.0 }}', undefined, '3 -3 1.5 1e+06 1'],
  ['{{ 0x1F }} {{ 0o17 }} {{ 017 }} {{ 0b101 }} {{ 1_000 }}', undefined, '31 15 15 5 1000'],
  ['{{ 1e21 }} {{ 123456789.0 }} {{ 0.0001 }} {{ 0.00001 }} {{ 1.5e-7 }}', undefined, '1e+21 1.23456789e+08 0.0001 1e-05 1.5e-07'],
  ["{{ 'a' }} {{ '\\n' }} {{ '\\x41' }}", undefined, '97 10 65'],
  ['{{ `raw\\n` }}|{{ "esc\\t\\u00e9" }}', undefined, 'raw\\n|esc\té'],
  ['{{ true }} {{ false }}', undefined, 'true false'],
  ['{{ "a" }}{{ "" }}{{ "b" }}', undefined, 'ab'],
  // fields, maps, dot, $
  ['{{ .a }}', { a: 'x' }, 'x'],
  ['{{ .a.b.c }}', { a: { b: { c: 'deep' } } }, 'deep'],
  ['{{ .missing }}', {}, '<no value>'],
  ['{{ .n }}', { n: null }, '<no value>'],
  ['{{ printf "%v" .n }}', { n: null }, '<nil>'],
  ['{{ .missing.x }}', {}, '<no value>'],
  ['{{ .n.x }}', { n: null }, { err: 'nil pointer evaluating interface {}.x' }],
  ['{{ .s.x }}', { s: 'str' }, { err: "can't evaluate field x in type interface {}" }],
  ['{{ . }}', 'dot', 'dot'],
  ['{{ $ }}', { a: 1 }, 'map[a:1]'],
  ['{{ with .a }}{{ $.b }}{{ end }}', { a: 1, b: 2 }, '2'],
  ['{{ (.a).b }}', { a: { b: 'c' } }, 'c'],
  ['{{ .l }} {{ .m }}', { l: [1, 'x', null], m: { b: 2, a: [1] } }, '[1 x <nil>] map[a:[1] b:2]'],
  ['{{ .f }} {{ .i }} {{ .b }} {{ .e }}|{{ .s }}|', { f: 1.25, i: -3, b: false, e: [], s: '' }, '1.25 -3 false []||'],
  ['{{ .Files.Get "x" }}', { Files: new Files() }, 'content of x'],
  ['{{ $f := .Files }}{{ $f.Get "y" | printf "%q" }}', { Files: new Files() }, '"content of y"'],
  ['{{ .Files.Get }}', { Files: new Files() }, { err: 'wrong number of args for Get: want 1 got 0' }],
  ['{{ .Files.Nope }}', { Files: new Files() }, { err: "can't evaluate field Nope" }],
  ['{{ .a 1 }}', { a: 1 }, { err: 'a is not a method but has arguments' }],
  // variables and scope
  ['{{ $x := 1 }}{{ $x }}', undefined, '1'],
  ['{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}', undefined, '2'],
  ['{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}', undefined, '21'],
  ['{{ if true }}{{ $y := 3 }}{{ end }}{{ $y }}', undefined, { err: 'undefined variable "$y"' }],
  ['{{ range .l }}{{ $v := . }}{{ end }}{{ $v }}', { l: [1] }, { err: 'undefined variable "$v"' }],
  ['{{ $x := 0 }}{{ range .l }}{{ $x = . }}{{ end }}{{ $x }}', { l: [5, 6, 7] }, '7'],
  ['{{ with $x := 5 }}{{ $x }}{{ end }}', undefined, '5'],
  ['{{ if $y := 0 }}yes{{ else }}{{ $y }}{{ end }}', undefined, '0'],
  ['{{ $x := "a" }}{{ $x = "b" }}{{ $x }}', undefined, 'b'],
  ['{{ $ := 1 }}{{ $ }}', { a: 1 }, '1'],
  ['{{ $x }}', undefined, { err: 'undefined variable "$x"' }],
  ['{{ $x := .a }}{{ upper $x }}', { a: null }, { err: 'invalid value; expected string' }],
  // if / else if / with
  ['{{ if .a }}A{{ else if .b }}B{{ else if .c }}C{{ else }}D{{ end }}', { c: [1] }, 'C'],
  ['{{ if .a }}A{{ else }}D{{ end }}', { a: 0 }, 'D'],
  ['{{ if .a }}A{{ else }}D{{ end }}', { a: {} }, 'D'],
  ['{{ if .a }}A{{ else }}D{{ end }}', { a: { k: 1 } }, 'A'],
  ['{{ if .a }}A{{ else }}D{{ end }}', { a: '0' }, 'A'],
  ['{{ if .a }}A{{ else }}D{{ end }}', { a: 0.0 }, 'D'],
  ['{{ if .Files }}A{{ end }}', { Files: new Files() }, 'A'],
  ['{{ with .a }}{{ . }}{{ else }}none{{ end }}', { a: 'A' }, 'A'],
  ['{{ with .a }}{{ . }}{{ else }}none{{ end }}', { a: '' }, 'none'],
  // range
  ['{{ range $k, $v := .m }}{{ $k }}={{ $v }};{{ end }}', { m: { b: 2, a: 1, c: 3 } }, 'a=1;b=2;c=3;'],
  ['{{ range .m }}{{ . }}{{ end }}', { m: { z: 1, a: 2 } }, '21'],
  ['{{ range $i, $v := .l }}{{ $i }}:{{ $v }} {{ end }}', { l: ['a', 'b'] }, '0:a 1:b '],
  ['{{ range $v := .l }}{{ $v }}{{ end }}', { l: ['a', 'b'] }, 'ab'],
  ['{{ range .l }}x{{ else }}empty{{ end }}', { l: [] }, 'empty'],
  ['{{ range .missing }}x{{ else }}empty{{ end }}', {}, 'empty'],
  ['{{ range .m }}x{{ else }}empty{{ end }}', { m: {} }, 'empty'],
  [
    '{{ range $i, $v := .l }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $v }}{{ end }}',
    { l: ['a', 'b', 'c', 'd', 'e'] },
    'ac',
  ],
  ['{{ range .l }}{{ range . }}{{ . }}{{ end }};{{ end }}', { l: [[1, 2], [3]] }, '12;3;'],
  ['{{- range $k, $v := . }}\n{{ $k }}: {{ $v }}\n{{- end }}', { z: 1, a: 2 }, '\na: 2\nz: 1'],
  ['{{ range .s }}{{ . }}{{ end }}', { s: 'abc' }, { err: "range can't iterate over abc" }],
  ['{{ break }}', undefined, { err: '{{break}} outside {{range}}' }],
  ['{{ range $a, $b, $c := .l }}{{ end }}', { l: [] }, { err: 'too many declarations in range' }],
  // define / template / block
  ['{{ define "x" }}[{{ . }}]{{ end }}{{ template "x" 5 }}{{ template "x" }}', undefined, '[5][<no value>]'],
  ['{{ block "b" . }}blk{{ . }}{{ end }}', 'D', 'blkD'],
  ['{{ define "a" }}{{ $ }}{{ end }}{{ template "a" .x }}', { x: 'X' }, 'X'],
  ['{{ $v := 1 }}{{ define "a" }}{{ $v }}{{ end }}', undefined, { err: 'undefined variable "$v"' }],
  ['{{ template "nope" }}', undefined, { err: 'template "nope" not defined' }],
  ['{{ define "a" }}x{{ end }}{{ define "a" }}y{{ end }}', undefined, { err: 'multiple definition of template "a"' }],
  // pipelines and calls
  ['{{ "a" | printf "%s-%s" "b" }}', undefined, 'b-a'],
  ['{{ 3 | printf "%d" }} {{ (printf "%d" 3) | len }}', undefined, '3 1'],
  ['{{ .a | printf "%v" }}', { a: null }, '<nil>'],
  ['{{ "abc" | upper | printf "%s!" }}', undefined, 'ABC!'],
  ['{{ 1 | 2 }}', undefined, { err: 'non executable command in pipeline stage 2' }],
  ['{{ 1 2 }}', undefined, { err: "can't give argument to non-function 1" }],
  ['{{ nil }}', undefined, { err: 'nil is not a command' }],
  ['{{ upper 5 }}', undefined, { err: 'expected string; found 5' }],
  ['{{ upper .a }}', { a: 5 }, { err: 'wrong type for value; expected string; got int' }],
  ['{{ upper .missing }}', {}, { err: 'invalid value; expected string' }],
  // and / or / not
  ['{{ and 1 0 2 }} {{ and 1 2 }} {{ or 0 "" 3 }} {{ or 0 "" }} {{ not 0 }} {{ not "x" }}', undefined, '0 2 3  true false'],
  ['{{ or 1 .x.y.z }} {{ and 0 (index .l 5) }}', { l: [] }, '1 0'],
  ['{{ and }}', undefined, { err: 'wrong number of args for and: want at least 1 got 0' }],
  // comparisons
  ['{{ eq 1 1 }} {{ eq 1 2 3 1 }} {{ eq "a" "b" }} {{ ne 1 2 }} {{ eq true true }}', undefined, 'true true false true true'],
  ['{{ lt 1 2 }} {{ le 2 2 }} {{ gt 1.5 1.2 }} {{ ge "b" "a" }} {{ lt "a" "b" }}', undefined, 'true true true true true'],
  ['{{ eq .missing .other }} {{ eq .missing "x" }}', {}, 'true false'],
  ['{{ eq 1 1.0 }}', undefined, { err: 'incompatible types for comparison' }],
  ['{{ lt 1 1.5 }}', undefined, { err: 'incompatible types for comparison' }],
  ['{{ lt 1 "a" }}', undefined, { err: 'incompatible types for comparison' }],
  ['{{ lt true false }}', undefined, { err: 'invalid type for comparison' }],
  ['{{ eq .l .l }}', { l: [1] }, { err: 'non-comparable type [%!s(int=1)]: []interface {}' }],
  ['{{ eq 1 }}', undefined, { err: 'missing argument for comparison' }],
  // index / slice / len
  ['{{ index .l 1 }} {{ index .m "a" }} {{ index .n 0 1 }} {{ index "abc" 1 }}', { l: [1, 2], m: { a: 'x' }, n: [[1, 2]] }, '2 x 2 98'],
  ['{{ index .m "zz" }}', { m: {} }, '<no value>'],
  ['{{ index .l 2 }}', { l: [1, 2] }, { err: 'reflect: slice index out of range' }],
  ['{{ index .l 3 }}', { l: [1, 2] }, { err: 'index out of range: 3' }],
  ['{{ index .m 1 }}', { m: { a: 1 } }, { err: 'value has type int; should be string' }],
  ['{{ index .m "x" "y" }}', { m: {} }, { err: 'index of nil pointer' }],
  ['{{ index 5 1 }}', undefined, { err: "can't index item of type int" }],
  ['{{ len .l }} {{ len "héllo" }} {{ len .m }}', { l: [1, 2], m: { a: 1 } }, '2 6 1'],
  ['{{ len 3 }}', undefined, { err: 'len of type int' }],
  ['{{ slice .l 1 }} {{ slice .l 1 2 }} {{ slice "abcd" 1 3 }} {{ slice .l }}', { l: [1, 2, 3] }, '[2 3] [2] bc [1 2 3]'],
  ['{{ slice .l 2 1 }}', { l: [1, 2, 3] }, { err: 'invalid slice index: 2 > 1' }],
  // print family, html, js, urlquery
  ['{{ print 1 2 "a" "b" 3 nil }}', undefined, '1 2ab3 <nil>'],
  ['{{ println 1 "a" }}|', undefined, '1 a\n|'],
  ['{{ html "<a href=\'x\'>&\\"" }}', undefined, '&lt;a href=&#39;x&#39;&gt;&amp;&#34;'],
  ['{{ js "a\'b\\"c<>&=\\n" }}', undefined, 'a\\\'b\\"c\\u003C\\u003E\\u0026\\u003D\\u000A'],
  ['{{ urlquery "a b&c=d/é~" }}', undefined, 'a+b%26c%3Dd%2F%C3%A9~'],
  ['{{ html "<b>" 1 nil }}', undefined, '&lt;b&gt;1&lt;no value&gt;'],
  // printf
  ['{{ printf "%d %s %x %X %o %b %c %q %U" 255 "s" 255 255 8 5 65 "hi\\n" 65 }}', undefined, '255 s ff FF 10 101 A "hi\\n" U+0041'],
  ['{{ printf "%e %g %f %t" 1234.5678 0.00001234 3.14159 true }}', undefined, '1.234568e+03 1.234e-05 3.141590 true'],
  ['{{ printf "%5.2f|%-5d|%05d|%+d|%x" 3.14159 42 42 42 "hi" }}', undefined, ' 3.14|42   |00042|+42|6869'],
  [
    '{{ printf "%.3g %.3g %.2e %8.3f|%-8.3f|%08.3f" 1234.5678 1.0 123456.0 3.14159 3.14159 -3.14159 }}',
    undefined,
    '1.23e+03 1 1.23e+05    3.142|3.142   |-003.142',
  ],
  ['{{ printf "%.0f %.1f %.1f %5.1f%%" 2.5 0.25 0.35 99.95 }}', undefined, '2 0.2 0.3 100.0%'],
  ['{{ printf "%5s|%-5s|%.2s|%05s" "ab" "ab" "abc" "ab" }}', undefined, '   ab|ab   |ab|000ab'],
  ["{{ printf \"%q %v %d\" 'x' 'x' 'x' }}", undefined, "'x' 120 120"],
  ['{{ printf "%x % x %#x %X" "hi" "hi" "hi" "hi" }}', undefined, '6869 68 69 0x6869 6869'],
  ['{{ printf "%d" "x" }} {{ printf "%s" 5 }} {{ printf "%s" nil }} {{ printf "%d" 1.5 }}', undefined, '%!d(string=x) %!s(int=5) %!s(<nil>) %!d(float64=1.5)'],
  ['{{ printf "%d %d" 1 }}', undefined, '1 %!d(MISSING)'],
  ['{{ printf "%d" 1 2 "a" }}', undefined, '1%!(EXTRA int=2, string=a)'],
  ['{{ printf "%z" 1 }} {{ printf "%" }}', undefined, '%!z(int=1) %!(NOVERB)'],
  ['{{ printf "%v %s %d" .l .l .l }}', { l: ['a', 'b'] }, '[a b] [a b] [%!d(string=a) %!d(string=b)]'],
  ['{{ printf "%s" .m }}', { m: { k: 1 } }, 'map[k:%!s(int=1)]'],
  ['{{ printf "%v %+v %#v" .m .l .s }}', { m: { b: [1, null], a: { c: 1.5 } }, l: [1, 2.5], s: 'q' }, 'map[a:map[c:1.5] b:[1 <nil>]] [1 2.5] "q"'],
  ['{{ printf "%T %T %T %T %T %T" 1 1.5 "s" .l .m nil }}', { l: [], m: {} }, 'int float64 string []interface {} map[string]interface {} <nil>'],
  ['{{ printf "%[2]d %[1]d" 1 2 }} {{ printf "%*d|%.*f" 5 1 2 3.14159 }}', undefined, '2 1     1|3.14'],
  ['{{ printf "%6.2v|%t|%v" 3.14159 1 true }}', undefined, '   3.1|%!t(int=1)|true'],
  ['{{ printf "%c|%q|%x|%X|%O|%#o|%#b" 0x1F600 0x1F600 -255 3054 8 8 5 }}', undefined, "😀|'😀'|-ff|BEE|0o10|010|0b101"],
  ['{{ printf "%q" "\\x00\\u00a0é" }} {{ printf "%+q" "é" }}', undefined, '"\\x00\\u00a0é" "\\u00e9"'],
  ['{{ printf "%g %G %.10g %g" 1e100 1e-100 1.0 100000000.0 }}', undefined, '1e+100 1E-100 1 1e+08'],
  ['{{ printf "%v %v" 1e20 0.000012345 }}', undefined, '1e+20 1.2345e-05'],
  // parse errors
  ['{{ .a }', undefined, { err: 'template: t:1: unexpected "}" in operand' }],
  ['{{ foo }}', undefined, { err: 'template: t:1: function "foo" not defined' }],
  ['{{ if }}{{ end }}', undefined, { err: 'missing value for if' }],
  ['{{ end }}', undefined, { err: 'unexpected {{end}}' }],
  ['{{ else }}', undefined, { err: 'unexpected {{else}}' }],
  ['{{ if true }}', undefined, { err: 'unexpected EOF' }],
  ['{{ "abc }}', undefined, { err: 'unterminated quoted string' }],
  ['{{ 1x }}', undefined, { err: 'bad number syntax: "1x"' }],
  ['{{/* unclosed', undefined, { err: 'unclosed comment' }],
  ['{{/* c */ x}}', undefined, { err: 'comment ends before closing delimiter' }],
  ['{{ .a | }}', {}, '<no value>'],
  ['{{ | }}', undefined, { err: 'unexpected "|" in command' }],
  ['{{ ( 1 }}', undefined, { err: 'unclosed left paren' }],
  ['{{ 1 ) }}', undefined, { err: 'unexpected ")" in command' }],
  ['{{ $x, $y := 1 }}', undefined, { err: 'too many declarations in command' }],
  ['{{ "a".b }}', undefined, { err: 'unexpected . after term "\\"a\\""' }],
  ['{{ template .x }}', undefined, { err: 'unexpected ".x" in template clause' }],
  ['line1\nline2\n{{ .a }', undefined, { err: 'template: t:3: unexpected "}" in operand' }],
  ['{{ .a', undefined, { err: 'unclosed action' }],
  // execution error positions
  ['line1\n  {{ .a.b }}', { a: 5 }, { err: 'template: t:2:7: executing "t" at <.a.b>: can\'t evaluate field b in type interface {}' }],
  ['{{ printf "%s %d" "a" (upper 1) }}', undefined, { err: 'template: t:1:29: executing "t" at <1>: expected string; found 1' }],
  ['{{ define "d" }}\n{{ .x.y }}{{ end }}{{ template "d" . }}', { x: 1 }, { err: 'template: t:2:5: executing "d" at <.x.y>' }],
];

/** Cases that need Go 1.22+ features, sprig or werf functions (not in the Go 1.19 reference run). */
export const OTHER_CASES: Case[] = [
  ['{{ range 3 }}{{ . }}{{ end }}', undefined, '012'],
  ['{{ range $i := 3 }}{{ $i }}{{ end }}|{{ range 0 }}x{{ else }}none{{ end }}', undefined, '012|none'],
  ['{{ range $i, $v := 3 }}{{ end }}', undefined, { err: "can't use 3 to iterate over more than one variable" }],
  ['{{ with .b }}{{ . }}{{ else with .c }}c={{ . }}{{ else }}none{{ end }}', { c: 'C' }, 'c=C'],
  ['{{ with .b }}{{ . }}{{ else with .c }}c={{ . }}{{ else }}none{{ end }}', {}, 'none'],
];

function render(tpl: string, data: unknown, opts: { go: boolean }): string {
  const set = new TemplateSet({ functions: opts.go ? 'go' : 'werf', funcs: opts.go ? goFuncs : {} });
  set.parse('t', tpl);
  return set.execute('t', data);
}

function runCases(label: string, cases: Case[], go: boolean): void {
  cases.forEach(([tpl, data, want], i) => {
    test(`${label} #${i}: ${JSON.stringify(tpl).slice(0, 70)}`, () => {
      if (typeof want === 'string') {
        assert.equal(render(tpl, data, { go }), want);
      } else {
        assert.throws(
          () => render(tpl, data, { go }),
          (e: unknown) => e instanceof TemplateError && e.message.includes(want.err),
        );
      }
    });
  });
}

if (!process.env.TSBUILD_DUMP_TEMPLATE_CASES) {
  runCases('go', GO_CASES, true);
  runCases('go 1.22+', OTHER_CASES, false);

  test('TemplateError carries the template name, line and column', () => {
    const set = new TemplateSet();
    set.parse('werf.yaml', 'a: 1\nb: {{ fail "boom" }}');
    try {
      set.execute('werf.yaml', {});
      assert.fail('expected an error');
    } catch (e) {
      assert.ok(e instanceof TemplateError);
      assert.equal(e.templateName, 'werf.yaml');
      assert.equal(e.line, 2);
      assert.equal(e.column, 6);
      assert.equal(e.message, 'template: werf.yaml:2:6: executing "werf.yaml" at <fail "boom">: error calling fail: boom');
    }
  });

  test('parse errors carry the line and no column', () => {
    const set = new TemplateSet();
    assert.throws(
      () => set.parse('werf.yaml', '\n\n{{ .a }'),
      (e: unknown) => e instanceof TemplateError && e.line === 3 && e.column === undefined,
    );
  });
}
