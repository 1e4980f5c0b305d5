// Path masks against werf's behaviour: the truth table (doublestar v4.9.1 PathMatch and werf's
// isPathMatched, computed from the real Go code) and every example of werf-spec §5.2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PathMatcher, cleanMask, doublestarMatch, trimGlob, werfGlobMatch } from './masks.js';
import { TsbuildError } from '../errors.js';

/** [glob, path, raw doublestar, werf rule]: "1" match, "0" no match, "E" invalid pattern. */
const TRUTH: Array<[string, string, string, string]> = [
  ['*.js', 'a.js', '1', '1'],
  ['*.js', 'dir/a.js', '0', '0'],
  ['*.js', '.eslintrc.js', '1', '1'],
  ['*', '.hidden', '1', '1'],
  ['src/*', 'src/a', '1', '1'],
  ['src/*', 'src/a/b', '0', '1'],
  ['src/*.js', 'src/a/b.js', '0', '0'],
  ['**/*.ts', 'a.ts', '1', '1'],
  ['**/*.ts', 'a/b/c.ts', '1', '1'],
  ['**/*.ts', '.hidden/x.ts', '1', '1'],
  ['**/*.ts', 'a/.b/c.ts', '1', '1'],
  ['src/**', 'src', '1', '1'],
  ['src/**', 'src/a/b', '1', '1'],
  ['src/**/*', 'src', '0', '1'],
  ['a/**/b', 'a/b', '1', '1'],
  ['a/**/b', 'a/x/y/b', '1', '1'],
  ['a/**b', 'a/xb', '1', '1'],
  ['a/**b', 'a/x/b', '0', '0'],
  ['a**b', 'axxb', '1', '1'],
  ['a**b', 'ax/xb', '0', '0'],
  ['**.js', 'a/b.js', '0', '0'],
  ['**', 'x/y/z', '1', '1'],
  ['?.txt', 'a.txt', '1', '1'],
  ['?.txt', 'ab.txt', '0', '0'],
  ['a?b', 'a/b', '0', '0'],
  ['[abc].txt', 'b.txt', '1', '1'],
  ['[!abc].txt', 'd.txt', '1', '1'],
  ['[!abc].txt', 'a.txt', '0', '0'],
  ['[^abc].txt', 'd.txt', '1', '1'],
  ['[a-c].txt', 'b.txt', '1', '1'],
  ['[]a].txt', '].txt', 'E', 'E'],
  ['\\*.txt', '*.txt', '1', '1'],
  ['\\*.txt', 'a.txt', '0', '0'],
  ['usr/bin/\\[', 'usr/bin/[', '1', '1'],
  ['a\\?b', 'a?b', '1', '1'],
  ['{a,b}/*.go', 'a/x.go', '1', '1'],
  ['{a,b}/*.go', 'c/x.go', '0', '0'],
  ['*.{js,ts}', 'x.ts', '1', '1'],
  ['x{1..3}', 'x2', '0', '0'],
  ['x{1..3}', 'x{1..3}', '0', '0'],
  ['{a,b/c}/d', 'b/c/d', '1', '1'],
  ['app', 'app/x/y', '0', '1'],
  ['app', 'application', '0', '0'],
  ['app/*/*', 'app/x/y/z', '0', '1'],
  ['app/**/*', 'app/x', '1', '1'],
  ['app/*.d', 'app/x.d/y', '0', '1'],
  ['*.JS', 'a.js', '0', '0'],
  ['*', '\u00fc.txt', '1', '1'],
  ['**/node_modules/**', 'node_modules/x', '1', '1'],
  ['**/node_modules/**', 'a/node_modules/b/c', '1', '1'],
  ['src/**/test/*.js', 'src/test/a.js', '1', '1'],
  ['a/*/c', 'a/b/c', '1', '1'],
  ['a/*/c', 'a/b/x/c', '0', '0'],
  ['!important.txt', '!important.txt', '1', '1'],
  ['!important.txt', 'other.txt', '0', '0'],
  ['@(a|b).txt', 'a.txt', '0', '0'],
  ['@(a|b).txt', '@(a|b).txt', '1', '1'],
  ['a+(b).txt', 'a+(b).txt', '1', '1'],
  ['#x', '#x', '1', '1'],
  ['a/(b)/c', 'a/(b)/c', '1', '1'],
  ['a$b', 'a$b', '1', '1'],
  ['a^b', 'a^b', '1', '1'],
  ['a|b', 'a|b', '1', '1'],
  ['a.b', 'axb', '0', '0'],
  ['*/', 'a', '0', '1'],
  ['a/b/', 'a/b', '0', '1'],
];

test('raw doublestar matching agrees with every row of the truth table', () => {
  for (const [glob, path, raw] of TRUTH) {
    if (raw === 'E') {
      assert.throws(
        () => doublestarMatch(glob, path),
        (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_MASK_INVALID',
        glob,
      );
    } else {
      assert.equal(doublestarMatch(glob, path), raw === '1', `doublestar ${JSON.stringify(glob)} vs ${JSON.stringify(path)}`);
    }
  }
});

test('werf 3-variant matching agrees with every row of the truth table', () => {
  for (const [glob, path, , werf] of TRUTH) {
    if (werf === 'E') {
      assert.throws(
        () => werfGlobMatch(glob, path),
        (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_MASK_INVALID',
        glob,
      );
    } else {
      assert.equal(werfGlobMatch(glob, path), werf === '1', `werf ${JSON.stringify(glob)} vs ${JSON.stringify(path)}`);
    }
  }
});

/** werf-spec §5.2: [add, includePaths, excludePaths, path, kept]. */
const SPEC_5_2: Array<[string, string[], string[], string, boolean]> = [
  ['/', ['*.php'], [], 'a.php', true],
  ['/', ['*.php'], [], 'dir/a.php', false],
  ['/', ['*.php'], [], 'x.php/inner.txt', true],
  ['/', ['**/*.php'], [], 'a.php', true],
  ['/', ['**/*.php'], [], 'src/a/b.php', true],
  ['/', ['module1'], [], 'module1/a/b.txt', true],
  ['/', ['module1'], [], 'module10/x', false],
  ['/', ['src/*.js'], [], 'src/a.js', true],
  ['/', ['src/*.js'], [], 'src/sub/a.js', false],
  ['/', ['src/**'], [], 'src', true],
  ['/', ['src/**'], [], 'src/a/b', true],
  ['/', ['src/'], [], 'src/a/b', true],
  ['/', ['*'], [], 'dir/file', true],
  ['/', ['*/**'], [], 'file', true],
  ['/', ['{a,b}.txt'], [], 'a.txt', true],
  ['/', ['{a,b}.txt'], [], 'c.txt', false],
  ['/', ['[ab].txt'], [], 'b.txt', true],
  ['/', ['?.txt'], [], 'ab.txt', false],
  ['/', ['app/*.txt'], [], 'app/dir.txt/y', true],
  ['/', ['[a-c]*'], [], 'b/x', true],
  ['/', ['\\*.txt'], [], '*.txt', true],
  ['/', ['\\*.txt'], [], 'a.txt', false],
  ['/', ['dir/**/*.go'], [], 'dir/a.go', true],
  ['/', ['dir/**/*.go'], [], 'dir/x/y/a.go', true],
  ['/', ['dir/*/x'], [], 'dir/a/x/y', true],
  ['/', ['.*'], [], '.env', true],
  ['/', ['.*'], [], 'a/.env', false],
  ['/', ['**/.*'], [], 'a/.env', true],
  ['/', ['**/*.go', '!x'], [], 'a.go', true],
  ['/', [], ['docs'], 'docs/index.md', false],
  ['/', [], ['docs'], 'docs', false],
  ['/', [], ['docs'], 'docsy/a.md', true],
  ['/', [], ['**/*_test.go'], 'pkg/a_test.go', false],
  ['/', [], ['**/*_test.go'], 'a_test.go', false],
  ['/', [], ['*.md'], 'README.md', false],
  ['/', [], ['*.md'], 'sub/README.md', true],
  ['/', ['src'], ['src/secret'], 'src/secret/key', false],
  ['/', ['src'], ['src/secret'], 'src/public/a', true],
  ['/', ['src'], ['src/secret'], 'lib/x', false],
  ['/src', ['app'], [], 'src/app/x.php', true],
  ['/src', ['app'], [], 'src/other/x.php', false],
  ['/src', ['app'], [], 'other/x', false],
  ['/src', [], [], 'src/anything', true],
  ['/src', [], [], 'srcfoo/x', false],
  ['/myfile', ['myfile'], [], 'myfile', false],
  ['/myfile', [''], [], 'myfile', true],
  ['/myfile', ['**/*'], [], 'myfile', true],
];

test('every example of werf-spec §5.2 is kept or dropped as werf does', () => {
  for (const [add, includePaths, excludePaths, path, kept] of SPEC_5_2) {
    const m = new PathMatcher({ basePath: add, includePaths, excludePaths });
    assert.equal(m.isPathMatched(path), kept, `add=${add} include=${JSON.stringify(includePaths)} exclude=${JSON.stringify(excludePaths)} path=${path}`);
  }
});

test('masks are cleaned and trimmed as werf does', () => {
  assert.equal(cleanMask('./src/'), 'src');
  assert.equal(cleanMask('a//b/./c'), 'a/b/c');
  assert.equal(cleanMask('.'), '');
  assert.equal(trimGlob('dir/**'), 'dir');
  assert.equal(trimGlob('a/*/b/**/*'), 'a/*/b');
  assert.equal(trimGlob('**/*'), '');
  assert.equal(trimGlob('a/b*'), 'a/b*');
  assert.throws(() => cleanMask('/abs'), /relative/);
  assert.throws(() => cleanMask('../up'), /must not leave/);
});

test('invalid globs are refused when compiled, with a hint', () => {
  for (const bad of ['[]a].txt', 'a[', 'a{b', 'a}b', 'x\\', '[!]']) {
    assert.throws(
      () => new PathMatcher({ includePaths: [bad] }),
      (e: unknown) => e instanceof TsbuildError && e.code === 'TSB_GIT_MASK_INVALID' && e.kind === 'INVALID' && !!e.hint,
      bad,
    );
  }
});

test('glob details: classes, escapes, braces, unicode and literal metacharacters', () => {
  const cases: Array<[string, string, boolean]> = [
    ['[a-c-e].x', '-.x', true],
    ['[a-c-e].x', 'e.x', true],
    ['[a-c-e].x', 'd.x', false],
    ['[c-a]', 'b', false],
    ['[\\]]', ']', true],
    ['{a,{b,c}}x', 'cx', true],
    ['{a,b}{1,2}', 'b2', true],
    ['x{}', 'x', true],
    ['{,a}b', 'b', true],
    ['[,]{a,b}', ',a', true],
    ['?', 'ü', true],
    ['[ü]', 'ü', true],
    ['a\\/b', 'a/b', true],
    ['a.(b)+[c]', 'a.(b)+c', true],
    ['***', 'x/y', false],
    ['a/***/b', 'a/x/y/b', false],
    ['**/', '', true],
    ['a/**/', 'a', true],
    ['a/**/', 'a/x', false],
    ['/**', '', true],
  ];
  for (const [glob, path, expected] of cases) {
    assert.equal(doublestarMatch(glob, path), expected, `${JSON.stringify(glob)} vs ${JSON.stringify(path)}`);
  }
});

test('shouldGoThrough descends only where a match is still possible', () => {
  const m = new PathMatcher({ basePath: '/src', includePaths: ['app/**/*.js', 'lib'], excludePaths: ['app/vendor'] });
  assert.equal(m.shouldGoThrough(''), true, 'above add');
  assert.equal(m.shouldGoThrough('src'), true, 'add itself, includes in progress');
  assert.equal(m.shouldGoThrough('src/app'), true);
  assert.equal(m.shouldGoThrough('src/app/x/y'), true, '** keeps the glob in progress');
  assert.equal(m.shouldGoThrough('src/app/vendor'), false, 'excluded as a whole');
  assert.equal(m.isPathMatched('src/app/vendor/a.js'), false);
  assert.equal(m.shouldGoThrough('src/lib'), false, 'matched as a whole');
  assert.equal(m.isPathMatched('src/lib'), true);
  assert.equal(m.shouldGoThrough('src/other'), false, 'nothing below can match');
  assert.equal(m.shouldGoThrough('other'), false, 'outside add');
  assert.equal(m.shouldGoThrough('srcx'), false);

  const plain = new PathMatcher({ basePath: '/' });
  assert.equal(plain.shouldGoThrough('any/dir'), false, 'everything matched: take it whole');
  assert.equal(plain.isPathMatched('any/dir'), true);

  const excl = new PathMatcher({ excludePaths: ['**/node_modules'] });
  assert.equal(excl.shouldGoThrough('a'), true, 'an exclude in progress forces a descent');
  assert.equal(excl.shouldGoThrough('a/node_modules'), false);
  assert.equal(excl.isPathMatched('a/node_modules/x'), false);

  const star = new PathMatcher({ includePaths: ['*/bin'] });
  assert.equal(star.shouldGoThrough('usr'), true);
  assert.equal(star.shouldGoThrough('usr/lib'), false);
  assert.equal(star.shouldGoThrough('usr/bin'), false);
  assert.equal(star.isPathMatched('usr/bin/x'), true);
});

test('shouldGoThrough never prunes a directory that holds a match (exhaustive check)', () => {
  const dirs = ['', 'a', 'a/b', 'a/b/c', 'x', 'x/a', 'x/a/b', '.h', '.h/a', 'src', 'src/a', 'src/a/b'];
  const files = dirs.flatMap((d) => ['f.js', 'b', '.e', 'c.go'].map((f) => (d === '' ? f : `${d}/${f}`)));
  const globs = ['**/b', 'a/*', 'src/**/*.js', '*/a', '{a,x}/b/**', '.*', '**/*.go', 'x/a/b', 'a/b/c/**', '*'];
  for (const inc of globs) {
    for (const exc of [undefined, ...globs]) {
      for (const base of ['', 'a', 'src']) {
        const m = new PathMatcher({ basePath: base, includePaths: [inc], excludePaths: exc ? [exc] : [] });
        for (const dir of dirs) {
          const below = files.filter((f) => dir === '' || f.startsWith(`${dir}/`));
          const matchedBelow = below.filter((f) => m.isPathMatched(f));
          const go = m.shouldGoThrough(dir);
          const whole = !go && m.isPathMatched(dir);
          const label = `base=${base} inc=${inc} exc=${exc} dir=${dir}`;
          if (!go && !whole) assert.deepEqual(matchedBelow, [], `pruned but has matches: ${label}`);
          if (whole) assert.deepEqual(matchedBelow, below, `taken whole but some are not matched: ${label}`);
        }
      }
    }
  }
});

test('stageDependencies masks AND the mapping filters', () => {
  const mapping = new PathMatcher({ basePath: '/app', includePaths: ['src', 'package.json'], excludePaths: ['src/gen'] });
  const deps = mapping.withMasks(['**/*.json', 'src/**/*.ts']);
  assert.equal(deps.isPathMatched('app/package.json'), true);
  assert.equal(deps.isPathMatched('app/tsconfig.json'), false, 'excluded by the mapping includes');
  assert.equal(deps.isPathMatched('app/src/a.ts'), true);
  assert.equal(deps.isPathMatched('app/src/gen/a.ts'), false, 'excluded by the mapping');
  assert.equal(deps.isPathMatched('app/src/a.js'), false);
});

test('literal prefixes narrow the tree walk to what can match', () => {
  assert.deepEqual(new PathMatcher({ basePath: '/src', includePaths: ['app/**/*.js', 'lib', 'lib/x'] }).literalPrefixes(), ['src/app', 'src/lib', 'src/lib/x']);
  assert.deepEqual(new PathMatcher({ basePath: '/src', includePaths: ['app', '*.js'] }).literalPrefixes(), ['src']);
  assert.deepEqual(new PathMatcher({ includePaths: ['{a,b}/x'] }).literalPrefixes(), ['']);
  assert.deepEqual(new PathMatcher({}).literalPrefixes(), ['']);
});

test('matching costs the same RegExp work with 7 masks or 87, and compiles nothing', () => {
  // The cost model instead of a stopwatch (test files share the machine): each mask list is one
  // RegExp compiled when the matcher is made, so the RegExp calls per path do not grow with the
  // number of masks, and no RegExp is built while matching.
  const paths: string[] = [];
  for (let i = 0; i < 100_000; i++) paths.push(`pkg${i % 50}/src/dir${i % 7}/sub${i % 13}/file${i}.${['ts', 'js', 'go', 'md'][i % 4]}`);
  const includePaths = ['**/*.ts', 'pkg1*/src/**', 'docs'];
  const excludePaths = ['**/sub3', 'pkg2/**', '*.md', '**/dir5/**'];
  const never = (k: string): string[] => Array.from({ length: 40 }, (_, i) => `never-${k}${i}/**/*.x${i}`);
  const run = (m: PathMatcher): { n: number; calls: number; built: number } => {
    const test = RegExp.prototype.test;
    const exec = RegExp.prototype.exec;
    const Original = globalThis.RegExp;
    let calls = 0;
    let built = 0;
    RegExp.prototype.test = function (this: RegExp, s: string) {
      calls++;
      return test.call(this, s);
    };
    RegExp.prototype.exec = function (this: RegExp, s: string) {
      calls++;
      return exec.call(this, s);
    };
    globalThis.RegExp = new Proxy(Original, {
      construct(target, args: [string, string?]) {
        built++;
        return new target(...args);
      },
    });
    let n = 0;
    try {
      for (const p of paths) if (m.isPathMatched(p)) n++;
    } finally {
      RegExp.prototype.test = test;
      RegExp.prototype.exec = exec;
      globalThis.RegExp = Original;
    }
    return { n, calls, built };
  };
  const few = run(new PathMatcher({ includePaths, excludePaths }));
  const many = run(new PathMatcher({ includePaths: [...includePaths, ...never('i')], excludePaths: [...excludePaths, ...never('e')] }));
  const expected = paths.filter((p) => {
    const include = p.endsWith('.ts') || /^pkg1[^/]*\/src\//.test(p);
    const exclude = /(^|\/)sub3(\/|$)/.test(p) || p.startsWith('pkg2/') || /(^|\/)dir5\//.test(p);
    return include && !exclude;
  }).length;
  assert.equal(few.n, expected);
  assert.equal(many.n, expected);
  assert.equal(few.built + many.built, 0, 'no RegExp built while matching');
  assert.equal(many.calls, few.calls, 'RegExp calls do not grow with the number of masks');
});

test('the single-RegExp werf rule equals trying the three variants one by one', () => {
  const globs = [
    '*.js',
    'src/*',
    'src/**',
    'src/**/*',
    'a/*/b/**/*',
    'a/**/b',
    '{a,b}/**',
    'x/{y,z/*}',
    'a**/**',
    '**/x/*',
    '.*',
    '[ab]/*/**',
    'a/b*',
    '\\*/**',
  ];
  const paths = ['', 'a', 'a/b', 'a/b/c', 'a/x/b/y', 'src', 'src/a.js', 'src/a/b', 'b/q', 'x/y', 'x/z/w', 'x/z/w/v', 'ab/c', 'q/x/r', '.e', '*/x', 'a/bc/d'];
  const join = (t: string): string => (t === '' ? '**/*' : `${t}/**/*`);
  for (const g of globs) {
    const t = trimGlob(g);
    for (const p of paths) {
      const expected = doublestarMatch(g, p) || doublestarMatch(t, p) || doublestarMatch(join(t), p);
      assert.equal(werfGlobMatch(g, p), expected, `${g} vs ${p}`);
    }
  }
});
