// The CLI as CommonJS bundles (dist/bundle/cli-<name>.cjs), each compiled with a V8 code cache
// (cli-<name>.cjs.v8cache), for start-up time. Node 20 has no compile cache for ES modules
// (module.enableCompileCache came in node 22), and compiling the ~1.1 MB a build loads was about a
// third of a no-op build: measured 0.12 s as ES module chunks, 0.085 s from one bundle with its cache.
//
// One bundle per kind of command line (BUNDLES), so a command reads and deserialises only its own
// code: `--version` commander alone, `image` the registry client, `build`/`plan` the conveyor; the
// rest (help, typos, the other commands) the whole CLI. One process loads one bundle.
//
// scripts/bundle.mjs writes the bundles and their caches (produceCodeCache below, in a fresh node with
// no flags, so V8 accepts them later); native/install.cjs makes the caches again when the installing
// node is not the one that packed the package. V8 checks a cache against the source and its own
// version and flags, and compiles normally when it does not match: a stale or foreign cache costs
// time, never correctness. Nothing is written at run time.
'use strict';
const { mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const ROOT = join(__dirname, '..');

/** Bundle name -> the command modules (cli/commands/<module>.js) it holds; null: all of them. */
const BUNDLES = { version: [], build: ['build'], image: ['image'], all: null };

// A project for the warm-up: `plan` of it (offline: --pull never) runs what every build runs first
// (config parse and templates, signatures, store lookups), so that code is compiled into the cache too.
const WARM_UP_PROJECT = `project: code-cache-warm-up
configVersion: 1
---
image: app
from: busybox:1.36
shell:
  install: [echo {{ .Env | default "warm" }}]
`;

/** What produceCodeCache runs for each bundle (DIR: the warm-up project); --help runs a command's modules' top-level code. */
const WARM_UP = {
  version: [['--version']],
  build: [['build', '--help'], ['plan', '--help'], ['plan', '--dir', 'DIR', '--pull', 'never']],
  image: [['image', '--help'], ['image', 'pull', '--help'], ['image', 'push', '--help']],
  all: [
    ['--version'],
    ...['build', 'run', 'config', 'stages', 'doctor', 'image', 'login', 'bundle', 'stapel'].map((c) => [c, '--help']),
    ['render', '--dir', 'DIR'],
    ['config', 'list', '--dir', 'DIR'],
    ['plan', '--dir', 'DIR', '--pull', 'never'],
  ],
};

function bundlePath(name) {
  return join(ROOT, 'dist', 'bundle', `cli-${name}.cjs`);
}

function cachePath(name) {
  return `${bundlePath(name)}.v8cache`;
}

/** The bundle for a command line (process.argv), as cli/main.ts decides what to load. */
function bundleFor(argv) {
  const args = argv.slice(2);
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return 'version';
  if (args[0] === 'build' || args[0] === 'plan') return 'build';
  if (args[0] === 'image') return 'image';
  return 'all';
}

/** Whether the bundle exists and is at least as new as the compiled CLI (a bare `tsc` makes it stale). */
function cliBundleIsFresh(name = 'all') {
  try {
    return statSync(bundlePath(name)).mtimeMs >= statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    return false;
  }
}

function readCache(name) {
  try {
    return readFileSync(cachePath(name));
  } catch {
    return undefined;
  }
}

/** The bundle compiled as node's CommonJS wrapper, with `cachedData` when given. */
function compile(name, cachedData) {
  return new vm.Script(Module.wrap(readFileSync(bundlePath(name), 'utf8')), {
    filename: bundlePath(name),
    ...(cachedData ? { cachedData } : {}),
    // The bundle has no import() of its own files; one of a node builtin goes to node's loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
}

/**
 * Runs a bundle (with its code cache when there is one) and returns its exports, the script (for
 * produceCodeCache) and whether V8 took the cache.
 */
function loadCli(name = 'all', options = {}) {
  const file = bundlePath(name);
  const cachedData = options.withoutCache ? undefined : readCache(name);
  const script = compile(name, cachedData);
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(file), mod, file, dirname(file));
  return { exports: mod.exports, script, cacheAccepted: cachedData !== undefined && !script.cachedDataRejected };
}

/** Whether this node accepts the cache on disk for the bundle. */
function codeCacheAccepted(name = 'all') {
  const cachedData = readCache(name);
  return cachedData !== undefined && !compile(name, cachedData).cachedDataRejected;
}

/**
 * Writes a bundle's code cache: loads it without one, runs its warm-up (so the functions start-up and
 * planning run are compiled too) and serialises what V8 compiled. Atomic: a reader sees the old
 * cache or the new one. Call it in a node process started without flags, one bundle per process,
 * where nothing else runs: it sets TSBUILD_HOME for the warm-up.
 */
async function produceCodeCache(name = 'all') {
  const { exports, script } = loadCli(name, { withoutCache: true });
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-code-cache-'));
  try {
    writeFileSync(join(work, 'werf.yaml'), WARM_UP_PROJECT);
    process.env.TSBUILD_HOME = join(work, 'home');
    for (const argv of WARM_UP[name]) await exports.main(['node', 'tsbuild', ...argv.map((a) => (a === 'DIR' ? work : a))]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = 0;
  // V8 stamps the cache with its flags: nothing above may change them (v8.setFlagsFromString in
  // the CLI would make every later start reject the cache; setting a flag back does not restore the
  // stamp). scripts/bundle.mjs checks that a fresh node accepts the result.
  const tmp = `${cachePath(name)}.${process.pid}.tmp`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, cachePath(name));
}

module.exports = { BUNDLES, bundleFor, bundlePath, cachePath, cliBundleIsFresh, loadCli, codeCacheAccepted, produceCodeCache };
