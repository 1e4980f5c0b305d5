// The CLI as one CommonJS file (dist/bundle/cli.cjs) compiled with a V8 code cache
// (dist/bundle/cli.cjs.v8cache), for start-up time. Node 20 has no compile cache for ES modules
// (module.enableCompileCache came in node 22), and compiling the ~1.1 MB a build loads was about a
// third of a no-op build: measured 0.12 s as ES module chunks, 0.085 s from this file with its cache.
//
// scripts/bundle.mjs writes both files and the cache (produceCodeCache below, in a fresh node with no
// flags, so V8 accepts it later); native/install.cjs makes it again when the installing node is not
// the one that packed the package. V8 checks the cache against the source and its own version and
// flags, and compiles normally when it does not match: a stale or foreign cache costs time, never
// correctness. Nothing is written at run time.
'use strict';
const { readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const Module = require('node:module');
const { dirname, join } = require('node:path');
const vm = require('node:vm');

const ROOT = join(__dirname, '..');
const BUNDLE = join(ROOT, 'dist', 'bundle', 'cli.cjs');
const CACHE = `${BUNDLE}.v8cache`;

/** Whether dist/bundle/cli.cjs exists and is at least as new as the compiled CLI (a bare `tsc` makes it stale). */
function cliBundleIsFresh() {
  try {
    return statSync(BUNDLE).mtimeMs >= statSync(join(ROOT, 'dist', 'cli', 'main.js')).mtimeMs;
  } catch {
    return false;
  }
}

function readCache() {
  try {
    return readFileSync(CACHE);
  } catch {
    return undefined;
  }
}

/**
 * Runs dist/bundle/cli.cjs (its code cache when there is one) and returns its exports, the script
 * (for produceCodeCache) and whether V8 took the cache.
 */
function loadCli(options = {}) {
  const source = readFileSync(BUNDLE, 'utf8');
  const cachedData = options.withoutCache ? undefined : readCache();
  const script = new vm.Script(Module.wrap(source), {
    filename: BUNDLE,
    ...(cachedData ? { cachedData } : {}),
    // The bundle has no import() of its own files; one of a node builtin goes to node's loader.
    importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, Module.createRequire(BUNDLE), mod, BUNDLE, dirname(BUNDLE));
  return { exports: mod.exports, script, cacheAccepted: cachedData !== undefined && !script.cachedDataRejected };
}

/** Whether the cache on disk is one this node accepts for this bundle. */
function codeCacheAccepted() {
  const cachedData = readCache();
  if (!cachedData) return false;
  const script = new vm.Script(Module.wrap(readFileSync(BUNDLE, 'utf8')), { filename: BUNDLE, cachedData });
  return !script.cachedDataRejected;
}

/** What produceCodeCache runs: every command's --help runs its modules' top-level code. */
const CACHE_ARGVS = [['--version'], ...['build', 'run', 'config', 'stages', 'doctor', 'image', 'login', 'bundle', 'stapel'].map((c) => [c, '--help'])];

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

/**
 * Writes the code cache: loads the bundle without one, runs `argvs` and a plan of a small project
 * (so the functions start-up and planning run are compiled too) and serialises what V8 compiled.
 * Atomic: a reader sees the old cache or the new one. Call it in a node process started without
 * flags, where nothing else runs: it sets TSBUILD_HOME for the plan.
 */
async function produceCodeCache(argvs = CACHE_ARGVS) {
  const { mkdtempSync, rmSync } = require('node:fs');
  const { tmpdir } = require('node:os');
  const { exports, script } = loadCli({ withoutCache: true });
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-code-cache-'));
  try {
    writeFileSync(join(work, 'werf.yaml'), WARM_UP_PROJECT);
    process.env.TSBUILD_HOME = join(work, 'home');
    const warmUp = [['render', '--dir', work], ['config', 'list', '--dir', work], ['plan', '--dir', work, '--pull', 'never']];
    for (const argv of [...argvs, ...warmUp]) await exports.main(['node', 'tsbuild', ...argv]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  process.exitCode = 0;
  // V8 stamps the cache with its flags: nothing above may change them (v8.setFlagsFromString in
  // the CLI would make every later start reject the cache; setting a flag back does not restore the
  // stamp). scripts/bundle.mjs checks that a fresh node accepts the result.
  const tmp = `${CACHE}.${process.pid}.tmp`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, CACHE);
}

module.exports = { BUNDLE, CACHE, cliBundleIsFresh, loadCli, codeCacheAccepted, produceCodeCache };
