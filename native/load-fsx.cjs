// Finds and loads the fsx addon (native/fsx.c) the way node-gyp-build does, without the dependency
// (a dozen lines for the one addon and the few targets tsbuild ships):
//   1. build/Release/fsx.node: compiled on this machine (a checkout, or `npm install` where no
//      prebuilt binary fits);
//   2. prebuilds/<platform>-<arch>/fsx.napi.<libc>.node: shipped in the npm package (scripts/prebuild),
//      named with prebuildify's tags so node-gyp-build would pick the same file.
// Plain CommonJS with no imports of tsbuild's own: the install script (native/install.cjs) runs it
// before anything is compiled, and lib/layer/fsx.ts uses it from the main thread and the workers.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const ROOT = join(__dirname, '..');

/** The binaries scripts/prebuild puts into the package. */
const PREBUILT = ['linux-x64 (glibc)', 'linux-x64 (musl)', 'linux-arm64 (glibc)'];

/** musl or glibc, as node-gyp-build decides it (LIBC overrides; Alpine is the musl distribution). */
function libc() {
  if (process.env.LIBC === 'musl' || process.env.LIBC === 'glibc') return process.env.LIBC;
  return existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
}

function platformName() {
  return `${process.platform}-${process.arch}${process.platform === 'linux' ? ` (${libc()})` : ''}`;
}

/** Paths to try, best first: a local build, then the prebuilt binary for this libc, then the other libc's. */
function candidates() {
  const first = libc();
  const other = first === 'glibc' ? 'musl' : 'glibc';
  const dir = join(ROOT, 'prebuilds', `${process.platform}-${process.arch}`);
  return [join(ROOT, 'build', 'Release', 'fsx.node'), join(dir, `fsx.napi.${first}.node`), join(dir, `fsx.napi.${other}.node`)];
}

/**
 * The addon and the file it came from. Throws an Error naming the platform, each file tried and why
 * it failed, when none loads.
 */
function loadFsx() {
  const failures = [];
  for (const path of candidates()) {
    if (!existsSync(path)) continue;
    try {
      return { addon: require(path), path };
    } catch (err) {
      failures.push(`${path}: ${err?.message ? err.message.split('\n')[0] : err}`);
    }
  }
  const err = new Error(
    `no native fsx addon for ${platformName()} with Node ${process.version}: ` +
      (failures.length
        ? `none of the binaries loads (${failures.join('; ')})`
        : `no prebuilt binary for this platform (the package has ${PREBUILT.join(', ')}) and none was compiled`),
  );
  err.platform = platformName();
  throw err;
}

module.exports = { loadFsx, platformName, PREBUILT, ROOT };
