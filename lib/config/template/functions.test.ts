// sprig and werf functions as werf.yaml templates use them; expectations follow sprig v3.2 and
// werf's pkg/config/parser.go.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TemplateError, TemplateSet } from './index.js';

type Case = [string, unknown, string | { err: string }];

const SPRIG: Case[] = [
  // strings
  ['{{ "  a b  " | trim }}|{{ trimAll "$" "$5.00$" }}|{{ trimPrefix "-" "-x" }}|{{ trimSuffix "/" "a/" }}', undefined, 'a b|5.00|x|a'],
  ['{{ upper "ab" }} {{ lower "AB" }} {{ title "hello world-x" }} {{ untitle "Hello World" }}', undefined, 'AB ab Hello World-X hello world'],
  [
    '{{ camelcase "http_server" }} {{ camelcase "virt-launcher" }} {{ "virt-launcher" | camelcase | untitle }}',
    undefined,
    'HttpServer VirtLauncher virtLauncher',
  ],
  ['{{ camelcase "_complex__case_" }} {{ snakecase "FirstName" }} {{ kebabcase "HTTPServer" }}', undefined, '_Complex_Case_ first_name http-server'],
  ['{{ replace "." "-" "1.2.3" }} {{ "a.b" | replace "." "/" }}', undefined, '1-2-3 a/b'],
  ['{{ quote "a" 1 nil }} {{ squote "b" }} {{ cat "a" nil 1 }}', undefined, '"a" "1" \'b\' a 1'],
  ['{{ contains "b" "abc" }} {{ hasPrefix "a" "abc" }} {{ hasSuffix "c" "abc" }}', undefined, 'true true true'],
  ['{{ indent 2 "a\\nb" }}|{{ nindent 2 "a" }}', undefined, '  a\n  b|\n  a'],
  ['{{ substr 1 3 "hello" }} {{ trunc 3 "hello" }} {{ trunc -2 "hello" }} {{ abbrev 5 "hello world" }}', undefined, 'el hel lo he...'],
  ['{{ repeat 3 "ab" }} {{ nospace "a b\\tc" }} {{ initials "Foo Bar" }} {{ swapcase "aB" }}', undefined, 'ababab abc FB Ab'],
  ['{{ wrap 5 "aaa bbb ccc" }}', undefined, 'aaa\nbbb\nccc'],
  ['{{ plural "one" "many" 1 }} {{ plural "one" "many" 2 }}', undefined, 'one many'],
  ['{{ splitList "/" "a/b/c" }} {{ (split "." "a.b")._1 }} {{ (splitn "." 2 "a.b.c")._1 }}', undefined, '[a b c] b b.c'],
  ['{{ join "," (list 1 "a" nil 2.5) }} {{ sortAlpha (list "b" "a" "c") }} {{ toStrings (list 1 2) }}', undefined, '1,a,2.5 [a b c] [1 2]'],
  ['{{ toString 5 }} {{ toString nil }} {{ atoi "42" }} {{ atoi "x" }}', undefined, '5 <nil> 42 0'],
  ['{{ upper 5 }}', undefined, { err: 'expected string; found 5' }],
  ['{{ repeat 100000000 "abc" }}', undefined, { err: 'exceeds the output limit' }],
  // lists
  ['{{ list 1 2 3 }} {{ first (list 1 2) }} {{ last (list 1 2) }} {{ rest (list 1 2 3) }} {{ initial (list 1 2 3) }}', undefined, '[1 2 3] 1 2 [2 3] [1 2]'],
  ['{{ first list }} {{ append (list 1) 2 }} {{ prepend (list 1) 0 }} {{ concat (list 1) (list 2 3) }}', undefined, '<no value> [1 2] [0 1] [1 2 3]'],
  ['{{ reverse (list 1 2 3) }} {{ uniq (list 1 1 2 1) }} {{ without (list 1 2 3) 2 }} {{ compact (list 1 "" 0 2) }}', undefined, '[3 2 1] [1 2] [1 3] [1 2]'],
  [
    '{{ has 2 (list 1 2) }} {{ has 3 (list 1 2) }} {{ has 1 nil }} {{ slice (list 1 2 3) 1 }} {{ slice (list 1 2 3) 1 2 }}',
    undefined,
    'true false false [2 3] [2]',
  ],
  ['{{ until 3 }} {{ untilStep 0 10 4 }} {{ seq 3 }} {{ seq 2 4 }} {{ seq 0 2 6 }} {{ seq 3 1 }}', undefined, '[0 1 2] [0 4 8] 1 2 3 2 3 4 0 2 4 6 3 2 1'],
  ['{{ range $i, $e := until 3 }}{{ $i }}{{ end }} {{ tuple 1 "a" }} {{ chunk 2 (list 1 2 3) }}', undefined, '012 [1 a] [[1 2] [3]]'],
  ['{{ first 5 }}', undefined, { err: 'Cannot find first on type int' }],
  ['{{ until 100000000 }}', undefined, { err: 'sequence longer than' }],
  // dicts
  [
    '{{ $d := dict "a" 1 "b" "x" }}{{ $d }} {{ get $d "a" }} {{ get $d "zz" }}| {{ hasKey $d "b" }} {{ keys $d }} {{ values $d }}',
    undefined,
    'map[a:1 b:x] 1 | true [a b] [1 x]',
  ],
  ['{{ $d := dict }}{{ $_ := set $d "k" "v" }}{{ $d.k }} {{ $_ := unset $d "k" }}{{ len $d }}', undefined, 'v 0'],
  ['{{ $_ := set . "X" 5 }}{{ .X }}', {}, '5'],
  [
    '{{ pluck "a" (dict "a" 1) (dict "b" 2) (dict "a" 3) }} {{ pick (dict "a" 1 "b" 2) "a" }} {{ omit (dict "a" 1 "b" 2) "a" }}',
    undefined,
    '[1 3] map[a:1] map[b:2]',
  ],
  ['{{ dig "a" "b" "def" (dict "a" (dict "b" "found")) }} {{ dig "a" "x" "def" (dict "a" (dict "b" 1)) }}', undefined, 'found def'],
  ['{{ merge (dict "a" 1 "n" (dict "x" 1)) (dict "a" 2 "b" 3 "n" (dict "y" 2)) }}', undefined, 'map[a:1 b:3 n:map[x:1 y:2]]'],
  ['{{ mergeOverwrite (dict "a" 1 "k" true) (dict "a" 2 "b" 3 "k" false) }}', undefined, 'map[a:2 b:3 k:false]'],
  ['{{ merge (dict "a" "") (dict "a" "x") }} {{ deepCopy (dict "a" (list 1)) }}', undefined, 'map[a:x] map[a:[1]]'],
  ['{{ hasKey .n "a" }}', { n: 'str' }, { err: 'wrong type for value; expected map[string]interface {}; got string' }],
  // defaults, types, logic
  ['{{ default "d" "" }} {{ default "d" "v" }} {{ default "d" .missing }} {{ default 5 0 }} {{ .missing | default "p" }}', {}, 'd v d 5 p'],
  ['{{ empty "" }} {{ empty 0 }} {{ empty (list) }} {{ empty (dict "a" 1) }} {{ empty .missing }}', {}, 'true true true false true'],
  ['{{ coalesce "" 0 "x" }} {{ ternary "y" "n" true }} {{ ternary "y" "n" false }} {{ all 1 "a" }} {{ any 0 "" }}', undefined, 'x y n true false'],
  ['{{ eq .v "false" | ternary "a" "b" }}', { v: 'false' }, 'a'],
  [
    '{{ typeOf 1 }} {{ typeOf 1.5 }} {{ typeOf "s" }} {{ typeOf (list) }} {{ typeOf (dict) }} {{ kindOf (list) }} {{ kindIs "map" (dict) }}',
    undefined,
    'int float64 string []interface {} map[string]interface {} slice true',
  ],
  ['{{ deepEqual (list 1 (dict "a" 2)) (list 1 (dict "a" 2)) }} {{ deepEqual 1 1.0 }}', undefined, 'true false'],
  ['{{ fail "boom" }}', undefined, { err: 'error calling fail: boom' }],
  // math
  ['{{ add 1 2 3 }} {{ sub 5 7 }} {{ mul 2 3 4 }} {{ div 7 2 }} {{ mod 7 3 }} {{ add1 1 }}', undefined, '6 -2 24 3 1 2'],
  ['{{ max 1 5 3 }} {{ min 4 2 8 }} {{ add 1.9 1 }} {{ add "2" 3 }} {{ div "1704164645" 2592000 }}', undefined, '5 2 2 5 657'],
  [
    '{{ addf 0.1 0.2 }} {{ mulf 1.5 2 }} {{ divf 1 3 }} {{ subf 1 0.5 }} {{ floor 1.7 }} {{ ceil 1.2 }} {{ round 1.255 2 }}',
    undefined,
    '0.3 3 0.3333333333333333 0.5 1 2 1.25',
  ],
  ['{{ int "42" }} {{ int 3.9 }} {{ int64 "0x10" }} {{ float64 "1.5" }} {{ float64 2 }} {{ typeOf (float64 2) }}', undefined, '42 3 16 1.5 2 float64'],
  ['{{ printf "%d" (add 1 2) }} {{ printf "%d" (float64 2) }}', undefined, '3 %!d(float64=2)'],
  ['{{ div 1 0 }}', undefined, { err: 'integer divide by zero' }],
  // encoding, hashes, json
  [
    '{{ b64enc "hello" }} {{ b64dec "aGVsbG8=" }} {{ b32enc "hi" }} {{ b32dec "NBUQ====" }} {{ b64dec "!!" }}',
    undefined,
    'aGVsbG8= hello NBUQ==== hi illegal base64 data at input byte 0',
  ],
  ['{{ sha256sum "abc" }}', undefined, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'],
  ['{{ sha1sum "abc" }} {{ adler32sum "abc" }}', undefined, 'a9993e364706816aba3e25717850c26c9cd0d89d 38600999'],
  ['{{ toJson (dict "b" 1 "a" (list "x" nil 1.5) "h" "<&>") }}', undefined, '{"a":["x",null,1.5],"b":1,"h":"\\u003c\\u0026\\u003e"}'],
  ['{{ toRawJson (dict "h" "<&>") }}|{{ toPrettyJson (dict "a" (list 1) "e" (dict)) }}', undefined, '{"h":"<&>"}|{\n  "a": [\n    1\n  ],\n  "e": {}\n}'],
  ['{{ $j := fromJson "{\\"a\\": 1, \\"b\\": [true, \\"x\\"]}" }}{{ $j.a }} {{ typeOf $j.a }} {{ index $j.b 1 }}', undefined, '1 float64 x'],
  // regex
  [
    '{{ regexMatch "^[a-z]+$" "abc" }} {{ regexFind "[0-9]+" "ab12cd34" }} {{ regexFindAll "[0-9]" "a1b2c3" -1 }} {{ regexFindAll "[0-9]" "a1b2c3" 2 }}',
    undefined,
    'true 12 [1 2 3] [1 2]',
  ],
  [
    '{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }} {{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }} {{ regexReplaceAllLiteral "a(x*)b" "-ab-" "$1" }}',
    undefined,
    '-W-xxW- --- -$1-',
  ],
  ['{{ regexSplit "z+" "pizza" -1 }} {{ regexSplit "z+" "pizza" 1 }} {{ regexQuoteMeta "a.b*c" }}', undefined, '[pi a] [pizza] a\\.b\\*c'],
  [
    '{{ regexReplaceAll "(?P<word>[a-z]+)" "ab cd" "<$word>" }} {{ regexMatch "(?i)^ABC$" "abc" }} {{ regexMatch "[[:digit:]]" "a1" }}',
    undefined,
    '<ab> <cd> true true',
  ],
  ['{{ regexMatch "(" "x" }}', undefined, { err: 'error calling regexMatch: regexp: Compile(' }],
  ['{{ regexMatch "a(?=b)" "ab" }}', undefined, { err: 'invalid or unsupported Perl syntax' }],
  // semver
  [
    '{{ semverCompare ">=1.2.0" "1.3.0" }} {{ semverCompare "^1.2" "2.0.0" }} {{ semverCompare "~1.2.3" "1.2.9" }} {{ semverCompare "1.x" "1.9.9" }}',
    undefined,
    'true false true true',
  ],
  [
    '{{ semverCompare ">1.0, <2.0" "1.5.0" }} {{ semverCompare "<1.0 || >=3.0" "2.0.0" }} {{ semverCompare ">=1.0" "1.1.0-beta" }} {{ semverCompare "1.2 - 1.4" "1.3.7" }}',
    undefined,
    'true false false true',
  ],
  [
    '{{ $v := semver "v1.2.3-rc.1+b5" }}{{ $v.Major }} {{ $v.Minor }} {{ $v.Patch }} {{ $v.Prerelease }} {{ $v.Metadata }} {{ $v }}',
    undefined,
    '1 2 3 rc.1 b5 1.2.3-rc.1+b5',
  ],
  ['{{ semver "x.y" }}', undefined, { err: 'Invalid Semantic Version' }],
  // dates and uuid
  [
    '{{ date "2006-01-02 15:04:05" 0 | len }} {{ dateInZone "2006-01-02T15:04:05Z07:00 Mon Jan" 1704164645 "UTC" }}',
    undefined,
    '19 2024-01-02T03:04:05Z Tue Jan',
  ],
  ['{{ dateInZone "Jan _2 3:04PM .000 MST" 1704164645 "UTC" }} {{ duration 95 }} {{ duration "3600" }}', undefined, 'Jan  2 3:04AM .000 UTC 1m35s 1h0m0s'],
  [
    '{{ (toDate "2006-01-02" "2024-03-05").Year }} {{ toDate "2006-01-02" "2024-03-05" | date "02/01/2006" }} {{ unixEpoch (toDate "2006-01-02T15:04:05Z07:00" "2024-01-02T03:04:05Z") }}',
    undefined,
    '2024 05/03/2024 1704164645',
  ],
  ['{{ now | typeOf }} {{ uuidv4 | len }} {{ randAlphaNum 8 | len }}', undefined, 'time.Time 36 8'],
  // paths and urls
  ['{{ base "/a/b.txt" }} {{ dir "/a/b.txt" }} {{ ext "x.tar.gz" }} {{ clean "a//b/../c/" }} {{ isAbs "/x" }}', undefined, 'b.txt /a .gz a/c true'],
  ['{{ (urlParse "https://u:p@host:8080/p/a?q=1#f").hostname }} {{ urlJoin (dict "scheme" "https" "host" "h" "path" "/x") }}', undefined, 'host https://h/x'],
  ['{{ genCA "x" 1 }}', undefined, { err: 'function "genCA" is not implemented by tsbuild' }],
];

const WERF: Case[] = [
  ['{{ include "x" . }}{{ define "x" }}[{{ .a }}]{{ end }}', { a: 1 }, '[1]'],
  ['{{ define "x" }}- a\n- b{{ end }}list:{{ include "x" . | nindent 2 }}', {}, 'list:\n  - a\n  - b'],
  ['{{ include "nope" . }}', {}, { err: 'error calling include: template: no template "nope" associated with template "t"' }],
  ['{{ tpl "{{ .a }}-{{ include \\"x\\" . }}" . }}{{ define "x" }}X{{ end }}', { a: 'A' }, 'A-X'],
  ['{{ tpl "{{ define \\"late\\" }}L{{ end }}" . }}{{ include "late" . }}', {}, 'L'],
  ['{{ tpl "{{ fail \\"inner\\" }}" . }}', {}, { err: 'error calling tpl: template: tpl-' }],
  ['{{ env "SET" }}|{{ env "EMPTY" "dflt" }}|{{ env "UNSET" "dflt" }}|{{ env "EMPTY" }}|', {}, 'value|dflt|dflt||'],
  ['{{ env "UNSET" }}', {}, { err: 'the environment variable "UNSET" must be set or default must be provided' }],
  ['{{ env "A" "b" "c" }}', {}, { err: 'more than 1 optional argument prohibited' }],
  ['{{ required "need x" .x }}', { x: 'v' }, 'v'],
  ['{{ required "need x" .x }}', {}, { err: 'error calling required: need x' }],
  ['{{ required "need x" "" }}', {}, { err: 'need x' }],
  [
    '{{ $y := fromYaml "a: 1\\nb: [x, 2.0]\\nc: {d: yes}\\nt: 2001-12-14\\nm: 0755" }}{{ $y.a }} {{ typeOf $y.a }} {{ $y.b }} {{ typeOf (index $y.b 1) }} {{ $y.c.d }} {{ $y.t }} {{ $y.m }}',
    {},
    '1 int [x 2] float64 true 2001-12-14 493',
  ],
  ['{{ printf "%s.%d" "1.25" (index (fromYaml "k8s: {\\"1.25\\": {patch: 16}}") "k8s" "1.25" "patch") }}', {}, '1.25.16'],
  ['{{ fromYaml "" }} {{ fromYaml "# only a comment" }}', {}, 'map[] map[]'],
  ['{{ fromYaml "- a" }}', {}, { err: 'cannot unmarshal !!seq into map[string]interface {}' }],
  ['{{ fromYaml "a: [" }}', {}, { err: 'error calling fromYaml: yaml:' }],
  ['{{ toYaml (dict "b" (list 1 "yes") "a" (dict "c" 1.5)) }}|', {}, 'a:\n  c: 1.5\nb:\n- 1\n- "yes"|'],
  ['{{ .Env }} {{ .Commit.Hash }} {{ div .Commit.Date.Unix 2592000 }}', { Env: 'EE', Commit: { Hash: 'abc', Date: { Unix: '1704164645' } } }, 'EE abc 657'],
  ['{{ tpl_debug "x" . }}{{ include_debug "x" . }}{{ printf_debug "%s" 1 }}', {}, ''],
  ['{{ expandenv "$HOME" }}', {}, { err: 'function "expandenv" not defined' }],
];

function render(tpl: string, data: unknown): string {
  const set = new TemplateSet({ env: { SET: 'value', EMPTY: '' } });
  set.parse('t', tpl);
  return set.execute('t', data);
}

for (const [label, cases] of [
  ['sprig', SPRIG],
  ['werf', WERF],
] as const) {
  cases.forEach(([tpl, data, want], i) => {
    test(`${label} #${i}: ${JSON.stringify(tpl).slice(0, 70)}`, () => {
      if (typeof want === 'string') assert.equal(render(tpl, data), want);
      else {
        assert.throws(
          () => render(tpl, data),
          (e: unknown) => e instanceof TemplateError && e.message.includes(want.err),
          `expected an error containing ${JSON.stringify(want.err)}`,
        );
      }
    });
  });
}

test('tpl templates can include templates registered from .werf/*.tmpl', () => {
  const set = new TemplateSet();
  set.parse('defines/a.tmpl', '{{ define "greet" }}hi {{ .name }}{{ end }}');
  set.parse('werfConfig', '{{ tpl "{{ include \\"greet\\" . }}" (dict "name" "bob") }}');
  assert.equal(set.execute('werfConfig', {}), 'hi bob');
  assert.ok(set.names().includes('defines/a.tmpl'));
});

test('a later non-empty define replaces an earlier one; an empty one does not', () => {
  const set = new TemplateSet();
  set.parse('a.tmpl', '{{ define "x" }}one{{ end }}');
  set.parse('b.tmpl', '{{ define "x" }}two{{ end }}');
  set.parse('c.tmpl', '{{ define "x" }} {{ end }}');
  set.parse('main', '{{ include "x" . }}');
  assert.equal(set.execute('main', {}), 'two');
});

test('self-including templates stop at the depth limit', () => {
  const set = new TemplateSet({ maxDepth: 50 });
  set.parse('main', '{{ define "loop" }}{{ include "loop" . }}{{ end }}{{ include "loop" . }}');
  assert.throws(() => set.execute('main', {}), /exceeded maximum template depth \(50\)/);
  const set2 = new TemplateSet({ maxDepth: 50 });
  set2.parse('main', '{{ define "loop" }}{{ template "loop" . }}{{ end }}{{ template "loop" . }}');
  assert.throws(() => set2.execute('main', {}), /exceeded maximum template depth \(50\)/);
});

test('output larger than the limit fails fast without building it', () => {
  const set = new TemplateSet({ maxOutputBytes: 1024 * 1024 });
  set.parse('main', '{{ range 1000000000000 }}0123456789{{ end }}');
  // 10^13 bytes: only stopping at the limit lets this return at all (no stopwatch needed).
  assert.throws(() => set.execute('main', {}), /rendered output exceeds the limit of 1048576 bytes/);
});

test('functions given as plain JS functions receive Go values', () => {
  const set = new TemplateSet({ funcs: { twice: (x: number) => x * 2 } });
  set.parse('t', '{{ twice 21 }}');
  assert.equal(set.execute('t'), '42');
});

test('unknown functions are parse errors naming the function, template and line', () => {
  const set = new TemplateSet();
  assert.throws(
    () => set.parse('werf.yaml', 'a\n{{ foo 1 }}'),
    (e: unknown) =>
      e instanceof TemplateError && e.message === 'template: werf.yaml:2: function "foo" not defined' && e.templateName === 'werf.yaml' && e.line === 2,
  );
});

test('Files methods that throw fail the render with the method name', () => {
  const set = new TemplateSet();
  set.parse('werf.yaml', '{{ .Files.Get "missing" }}');
  const Files = {
    Get(p: string): string {
      throw new Error(`file ${p} not found`);
    },
  };
  assert.throws(() => set.execute('werf.yaml', { Files }), /error calling Get: file missing not found/);
});
