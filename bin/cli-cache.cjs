// The CLI as CommonJS bundles (dist/bundle/cli-<name>.cjs), each compiled with a V8 code cache
// (cli-<name>.cjs.v8cache), for start-up time. Node 20 has no compile cache for ES modules
// (module.enableCompileCache came in node 22), and compiling the ~1.1 MB a build loads was about a
// third of a no-op build: measured 0.12 s as ES module chunks, 0.085 s from one bundle with its cache.
//
// One bundle per kind of command line (BUNDLES), so a command reads and deserialises only its own
// code: `--version` commander alone, `image push`/`image pull` the registry client and the store (the
// image-transfer bundle, a quarter of the image bundle's size), the other `image` subcommands also
// the archive, layer and inspect code, `build`/`plan` the conveyor; the rest (help, typos, the other
// commands) the whole CLI. One process loads one bundle.
//
// scripts/bundle.mjs writes the bundles and their caches (bin/produce-code-cache.cjs, which no start
// reads, run in a fresh node with no flags, so V8 accepts them later); native/install.cjs makes the caches again when the installing
// node is not the one that packed the package. V8 checks a cache against the source and its own
// version and flags, and compiles normally when it does not match: a stale or foreign cache costs
// time, never correctness. Nothing is written at run time.
'use strict';
const { readFileSync, statSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const ROOT = join(__dirname, '..');

/** Bundle name -> the command modules (cli/commands/<module>.js) it holds; null: all of them. */
const BUNDLES = { version: [], build: ['build'], 'image-transfer': ['image'], image: ['image'], all: null };

/**
 * Bundles holding only what their command modules import statically: an import() there (image.ts's
 * archive, recompression and inspect code) throws. bundleFor routes no command line that needs one
 * to them: `image push --layer-compression` goes to the image bundle.
 */
const STATIC_ONLY = ['image-transfer'];

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
  if (args[0] === 'image') {
    // Recompressing before a push needs lib/image and lib/layer, which image-transfer leaves out.
    const transfer = (args[1] === 'push' || args[1] === 'pull') && !args.some((a) => a.startsWith('--layer-compression'));
    return transfer ? 'image-transfer' : 'image';
  }
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
 * bin/produce-code-cache.cjs) and whether V8 took the cache.
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

module.exports = { BUNDLES, STATIC_ONLY, bundleFor, bundlePath, cachePath, cliBundleIsFresh, loadCli, codeCacheAccepted };
