// What `tsbuild` runs (bin/tsbuild, and bin/tsbuild.js for `node bin/tsbuild.js`): enters the
// namespaces a root build or run needs, then loads the CLI. CommonJS, so a start-up loads no ES
// module at all: node's ES module loader and one small module cost ~10 ms of a 0.1 s no-op build.
//
// The runtime modules asked here come from dist/bundle/start/*.cjs (scripts/bundle.mjs), each one file,
// when that bundle is at least as new as the compiled output; else from dist/runtime/ (a bare `tsc`).
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { pathToFileURL } = require('node:url');
const cliCache = require('./cli-cache.cjs');

const ROOT = join(__dirname, '..');
// Asked only by build and run (two stat calls the other commands need not make).
let bundled;

/** A runtime module of the compiled output, or undefined when it cannot be loaded. */
function runtimeModule(name) {
  bundled ??= cliCache.cliBundleIsFresh();
  if (bundled) {
    try {
      return Promise.resolve(require(join(ROOT, 'dist', 'bundle', 'start', `${name}.cjs`)));
    } catch {
      // Fall through to the compiled module.
    }
  }
  return import(pathToFileURL(join(ROOT, 'dist', 'runtime', `${name}.js`)).href).catch(() => undefined);
}

function isCommand(names) {
  return names.includes(process.argv[2]) && !process.argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h');
}

function selfArgv() {
  return [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
}

// As root, `build` and `run` go on in a private mount namespace so the kernel drops their mounts
// if they are killed (runtime/mount-namespace.ts); done here, before the CLI is loaded, to keep the
// cost at one bare node start-up.
// Where user namespaces exist, root's build re-runs itself in one (runtime/userns.ts, issue 14),
// which brings its own mount namespace: no need for this one first (prepareRuntime() still makes it
// if the user namespace is refused after all).
function userNamespacesEnabled() {
  try {
    return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
  } catch {
    return false;
  }
}

async function inPrivateMountNamespace() {
  if (!isCommand(['build', 'run']) || userNamespacesEnabled()) return undefined;
  const ns = await runtimeModule('mount-namespace');
  if (!ns?.wantsPrivateMounts()) return undefined;
  return ns.runInPrivateMountNamespace(selfArgv());
}

// As root, `build` and `run` go on as root of a user namespace over a subordinate range (issue 14,
// runtime/userns.ts); decided and done here, before the CLI is loaded, so the command is not loaded
// twice. When that is not possible the CLI decides again, warns and falls back.
async function inRootUserNamespace() {
  if (!isCommand(['build', 'run']) || process.getuid?.() !== 0 || process.env.TSBUILD_ID_MODE) return undefined;
  const [probe, userns] = await Promise.all([runtimeModule('probe'), runtimeModule('userns')]);
  if (!probe || !userns) return undefined;
  const decision = await probe.decideIdMode();
  if (decision.mode !== 'subuid') return undefined;
  return userns.runInUserNamespace(selfArgv(), decision);
}

// As root, `build` enters its namespace only when it has a stage to build (runtime/namespace-deferral.ts):
// it plans in this process, and a build with every stage stored runs in this process alone.
async function buildDefersNamespace() {
  if (!isCommand(['build'])) return false;
  const check = await runtimeModule('can-defer-namespace');
  return !!check?.canDeferNamespace();
}

// When the command's work is done (the event loop is empty), exit at once: node's own teardown of
// the environment and its heap cost 4-6 ms of wall time per run. Standard output and error are
// written synchronously on Linux (files, pipes, terminals), so nothing is left unwritten.
process.once('beforeExit', () => process.exit());

buildDefersNamespace()
  .then(async (defers) => {
    if (defers) return undefined;
    const code = await inRootUserNamespace();
    return code !== undefined ? code : inPrivateMountNamespace();
  })
  .then((code) => {
    if (code !== undefined) {
      process.exitCode = code;
      return undefined;
    }
    const name = cliCache.bundleFor(process.argv);
    if (cliCache.cliBundleIsFresh(name)) return cliCache.loadCli(name).exports.main(process.argv);
    return import(pathToFileURL(join(ROOT, 'dist', 'cli', 'main.js')).href).then((m) => m.main(process.argv));
  })
  .catch((err) => {
    process.stderr.write(`tsbuild: cannot start: ${err?.stack ? err.stack : err}\n`);
    process.exit(4);
  });
