import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandOf, createProgram } from './main.js';
import { loadedModules } from '../test/support/loaded-modules.js';

const BIN = fileURLToPath(new URL('../../bin/tsbuild.js', import.meta.url));

test('argv names the one command whose module is loaded; help and typos load them all', async () => {
  assert.equal(commandOf(['node', 'tsbuild', 'plan', '--dir', 'x']), 'plan');
  assert.equal(commandOf(['node', 'tsbuild', 'logout', 'r']), 'logout');
  assert.equal(commandOf(['node', 'tsbuild', '--help']), undefined);
  assert.equal(commandOf(['node', 'tsbuild', 'biuld']), undefined);
  assert.equal(commandOf(['node', 'tsbuild', 'toString']), undefined);
  assert.deepEqual(
    (await createProgram([])).commands.map((c) => c.name()),
    [],
  );
  // build.ts registers build and plan: asking for plan brings both, once.
  assert.deepEqual(
    (await createProgram(['plan'])).commands.map((c) => c.name()),
    ['build', 'plan'],
  );
  const all = (await createProgram()).commands.map((c) => c.name());
  for (const name of ['build', 'plan', 'run', 'render', 'config', 'stages', 'doctor', 'image', 'login', 'logout', 'bundle', 'stapel'])
    assert.ok(all.includes(name), name);
});

test('--version loads no command module and nothing of the library; build loads its command only', () => {
  const main = new URL('./main.js', import.meta.url).href;
  const version = loadedModules(main, ['--version']);
  assert.deepEqual(
    version.filter((u) => u.includes('/cli/commands/') || u.includes('/lib/')),
    [],
  );
  const build = loadedModules(main, ['build', '--help']);
  assert.deepEqual(
    build.filter((u) => u.includes('/cli/commands/')).map((u) => u.replace(/.*\//, '')),
    ['build.js'],
  );
  const r = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});

test('the installed command runs the bundled CLI from V8 code caches this node accepts, one bundle per kind of command line', () => {
  const cliCache = fileURLToPath(new URL('../../bin/cli-cache.cjs', import.meta.url));
  // In a fresh node, as bin/start.cjs loads them (the test runner's own flags could change V8's verdict).
  const probe = `const c = require(${JSON.stringify(cliCache)}); console.log(JSON.stringify(Object.keys(c.BUNDLES).map((n) => [n, c.cliBundleIsFresh(n), c.loadCli(n).cacheAccepted])))`;
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(
    JSON.parse(r.stdout),
    [
      ['version', true, true],
      ['build', true, true],
      ['image-transfer', true, true],
      ['image', true, true],
      ['all', true, true],
    ],
    'scripts/bundle.mjs made every bundle and a cache V8 takes',
  );
  const installed = fileURLToPath(new URL('../../bin/tsbuild', import.meta.url));
  const v = spawnSync(installed, ['--version'], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /^\d+\.\d+\.\d+\n$/);
  // Each bundle runs what it is picked for; the whole CLI answers help and the other commands.
  for (const [args, re] of [
    [['build', '--help'], /Usage: tsbuild build/],
    [['plan', '--help'], /Usage: tsbuild plan/],
    [['image', 'push', '--help'], /Usage: tsbuild image push/],
    [['image', 'pull', '--help'], /Usage: tsbuild image pull/],
    [['image', '--help'], /Commands:\n {2}pull .*\n {2}push .*\n {2}inspect .*\n {2}save .*\n {2}load .*\n {2}list /s],
    [['stages', '--help'], /Usage: tsbuild stages/],
    [['--help'], /Usage: tsbuild \[options\] \[command\]/],
  ] as const) {
    const out = spawnSync(installed, [...args], { encoding: 'utf8' });
    assert.equal(out.status, 0, `${args.join(' ')}: ${out.stderr}`);
    assert.match(out.stdout, re, args.join(' '));
  }
  // A bundle without a command's module says so rather than running something else.
  const missing = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(cliCache)}).loadCli('image').exports.main(['node', 'tsbuild', 'stages', '--help'])`],
    { encoding: 'utf8' },
  );
  assert.match(missing.stderr, /command module stages is not in this bundle/);
});

test('image push and pull run from the image-transfer bundle; a push that recompresses, and the other image subcommands, from the image bundle', () => {
  const cliCache = fileURLToPath(new URL('../../bin/cli-cache.cjs', import.meta.url));
  const { bundleFor } = createRequire(import.meta.url)(cliCache) as { bundleFor: (argv: string[]) => string };
  const probe = (argv: string[]): string => bundleFor(['node', 'tsbuild', ...argv]);
  assert.equal(probe(['image', 'push', '--quiet', 'a', 'r/b:1']), 'image-transfer');
  assert.equal(probe(['image', 'pull', 'r/b:1']), 'image-transfer');
  assert.equal(probe(['image', 'push', '--layer-compression', 'zstd', 'a', 'r/b:1']), 'image');
  assert.equal(probe(['image', 'push', 'a', 'r/b:1', '--layer-compression=gzip']), 'image');
  for (const sub of ['inspect', 'save', 'load', 'list', '--help', 'pussh']) assert.equal(probe(['image', sub]), 'image', sub);

  // The image-transfer bundle leaves out what recompression needs: run there, such a push says so ...
  const home = mkdtempSync(join(tmpdir(), 'tsbuild-main-test-'));
  try {
    const env = { ...process.env, TSBUILD_HOME: home };
    const args = ['image', 'push', '--layer-compression', 'zstd', 'nothere', '127.0.0.1:9/x:1'];
    const lean = spawnSync(
      process.execPath,
      ['-e', `require(${JSON.stringify(cliCache)}).loadCli('image-transfer').exports.main(${JSON.stringify(['node', 'tsbuild', ...args])})`],
      {
        encoding: 'utf8',
        env,
      },
    );
    assert.match(lean.stderr, /lib\/layer\/index\.js is not in this bundle/);
    // ... and the installed command, routed to the image bundle, gets as far as the store.
    const routed = spawnSync(fileURLToPath(new URL('../../bin/tsbuild', import.meta.url)), args, { encoding: 'utf8', env });
    assert.equal(routed.status, 1, routed.stderr);
    assert.match(routed.stderr, /image nothere is not in the local store/);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});

test('every bundle is ASCII-only (node reads a file with one non-ASCII character as a two-byte string, at every start)', () => {
  const dir = fileURLToPath(new URL('../bundle/', import.meta.url));
  const files = readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => /\.c?js$/.test(f));
  assert.ok(files.includes('cli-image.cjs') && files.includes(join('start', 'probe.cjs')), files.join(' '));
  for (const f of files) {
    const bytes = readFileSync(join(dir, f));
    const at = bytes.findIndex((b) => b > 0x7f);
    assert.equal(at, -1, `${f}: non-ASCII at byte ${at}: ${bytes.subarray(Math.max(0, at - 60), at + 20).toString('utf8')}`);
  }
});

test('the image-transfer warm-up (a real pull and pushes, to a registry on 127.0.0.1) leaves no file or listener behind and makes a cache a fresh node takes', () => {
  const root = mkdtempSync(join(tmpdir(), 'tsbuild-warm-up-copy-'));
  const tmp = mkdtempSync(join(tmpdir(), 'tsbuild-warm-up-tmp-'));
  try {
    // A copy, so the checkout's cache is not rewritten under other tests.
    const repo = fileURLToPath(new URL('../../', import.meta.url));
    cpSync(join(repo, 'bin'), join(root, 'bin'), { recursive: true });
    cpSync(join(repo, 'package.json'), join(root, 'package.json'));
    cpSync(join(repo, 'dist', 'bundle', 'cli-image-transfer.cjs'), join(root, 'dist', 'bundle', 'cli-image-transfer.cjs'));
    const cliCache = JSON.stringify(join(root, 'bin', 'cli-cache.cjs'));
    const produce = JSON.stringify(join(root, 'bin', 'produce-code-cache.cjs'));
    const env = { ...process.env, NODE_OPTIONS: '', TMPDIR: tmp };
    const made = spawnSync(process.execPath, ['-e', `require(${produce}).produceCodeCache('image-transfer')`], { encoding: 'utf8', env, timeout: 100_000 });
    // It ended by itself (a server or socket left open would keep it running), every step as expected.
    assert.equal(made.signal, null, 'the warm-up ended by itself');
    assert.equal(made.status, 0, made.stderr);
    assert.equal(made.stderr, '');
    assert.deepEqual(readdirSync(tmp), [], 'nothing left in TMPDIR');
    const accepted = spawnSync(process.execPath, ['-e', `process.stdout.write(String(require(${cliCache}).codeCacheAccepted('image-transfer')))`], {
      encoding: 'utf8',
      env,
    });
    assert.equal(accepted.stdout, 'true', accepted.stderr);

    // Where 127.0.0.1 cannot be listened on, the cache is made without the registry steps, and said so.
    const noListen = `require('node:http').Server.prototype.listen = function () { process.nextTick(() => this.emit('error', new Error('listen refused here'))); return this; };`;
    const without = spawnSync(process.execPath, ['-e', `${noListen} require(${produce}).produceCodeCache('image-transfer')`], {
      encoding: 'utf8',
      env,
      timeout: 100_000,
    });
    assert.equal(without.status, 0, without.stderr);
    assert.match(
      without.stderr,
      /^tsbuild: the code cache warm-up of the image-transfer bundle goes on without its registry steps: .*listen refused here\)\n$/,
    );
    assert.deepEqual(readdirSync(tmp), [], 'nothing left in TMPDIR');
  } finally {
    rmSync(root, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('--version, image push and image pull load no node:child_process (~2.5 ms; commander requires it at its top)', () => {
  const cliCache = JSON.stringify(fileURLToPath(new URL('../../bin/cli-cache.cjs', import.meta.url)));
  const home = mkdtempSync(join(tmpdir(), 'tsbuild-main-test-'));
  try {
    for (const [bundle, argv, thenLoad] of [
      ['version', ['--version'], false],
      ['image-transfer', ['image', 'push', '--help'], false],
      ['image-transfer', ['image', 'pull', '--quiet', '127.0.0.1:9/none:1'], false],
      // Control: the check sees node:child_process once something loads it.
      ['version', ['--version'], true],
    ] as const) {
      const code = `require(${cliCache}).loadCli(${JSON.stringify(bundle)}).exports.main(${JSON.stringify(['node', 'tsbuild', ...argv])}).then(() => {
        if (${thenLoad}) require('node:child_process');
        process.stderr.write('loaded:' + process.moduleLoadList.includes('NativeModule child_process'));
      });`;
      const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', env: { ...process.env, TSBUILD_HOME: home } });
      assert.match(r.stderr, thenLoad ? /loaded:true$/ : /loaded:false$/, `${argv.join(' ')}: ${r.stderr}`);
    }
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
