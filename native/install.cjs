// npm's install script for tsbuild: use the prebuilt addon when one loads on this machine (no
// compiler, no node-gyp); compile native/fsx.c with node-gyp only when none fits, and fail the
// install with the platform named when that does not work either.
'use strict';
const { spawnSync } = require('node:child_process');
const { existsSync, statSync } = require('node:fs');
const { join, relative } = require('node:path');
const { loadFsx, platformName, ROOT } = require('./load-fsx.cjs');

function localBuildIsStale() {
  const built = join(ROOT, 'build', 'Release', 'fsx.node');
  const source = join(ROOT, 'native', 'fsx.c');
  return existsSync(built) && existsSync(source) && statSync(built).mtimeMs < statSync(source).mtimeMs;
}

function tryLoad() {
  try {
    return { path: loadFsx().path };
  } catch (err) {
    return { error: err.message };
  }
}

// The CLI's V8 code cache (bin/cli-cache.cjs) is made by the node that packed the package; a different
// node rejects it (and compiles as if there were none). Made again here, for this node, best effort.
function ensureCodeCache() {
  try {
    const cache = require('../bin/cli-cache.cjs');
    for (const name of Object.keys(cache.BUNDLES)) {
      if (!cache.cliBundleIsFresh(name) || cache.codeCacheAccepted(name)) continue;
      const made = spawnSync(
        process.execPath,
        ['-e', `require(${JSON.stringify(join(ROOT, 'bin', 'produce-code-cache.cjs'))}).produceCodeCache(${JSON.stringify(name)})`],
        {
          stdio: ['ignore', 'ignore', 'inherit'],
          env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: '' },
        },
      );
      if (made.status === 0) console.log(`tsbuild: code cache of the ${name} bundle made for node ${process.version}`);
    }
  } catch {
    // Without it the CLI starts as fast as without a cache: nothing to fail the install for.
  }
}

// A checkout whose fsx.c changed since the last compile rebuilds; anything else takes what loads.
let why = 'native/fsx.c changed since it was compiled';
if (!localBuildIsStale()) {
  const found = tryLoad();
  if (found.path) {
    console.log(`tsbuild: native addon ${relative(ROOT, found.path)}`);
    ensureCodeCache();
    process.exit(0);
  }
  why = found.error;
}

// npm hands its bundled node-gyp to install scripts (npm_config_node_gyp); outside npm, try PATH.
const gyp = process.env.npm_config_node_gyp;
const [cmd, args] = gyp ? [process.execPath, [gyp, 'rebuild']] : ['node-gyp', ['rebuild']];
console.log(`tsbuild: no prebuilt addon loads on ${platformName()}; compiling native/fsx.c with node-gyp`);
const run = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
const after = run.status === 0 ? tryLoad() : { error: run.error ? run.error.message : `node-gyp exited with ${run.status ?? run.signal}` };
if (after.path) {
  console.log(`tsbuild: native addon ${relative(ROOT, after.path)}`);
  ensureCodeCache();
  process.exit(0);
}
console.error(
  `tsbuild: cannot install the native addon on ${platformName()} (Node ${process.version}).\n` +
    `  ${why}.\n` +
    `  Compiling it failed: ${after.error}\n` +
    '  Install a C toolchain for node-gyp (Debian/Ubuntu: apt-get install g++ make python3; Alpine: apk add build-base python3) and install tsbuild again.',
);
process.exit(1);
