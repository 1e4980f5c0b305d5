// Writes the code cache of a CLI bundle (bin/cli-cache.cjs) after a warm-up: at build time
// (scripts/bundle.mjs) and at install time for another node (native/install.cjs), never at run time.
// Apart from bin/cli-cache.cjs so that a start does not read and compile it.
'use strict';
const { mkdtempSync, renameSync, rmSync, writeFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { cachePath, loadCli } = require('./cli-cache.cjs');
const { startWarmUpRegistry } = require('./warm-up-registry.cjs');

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
 * What produceCodeCache runs for each bundle (DIR: the warm-up project; REG: bin/warm-up-registry.cjs,
 * on 127.0.0.1); --help runs a command's modules' top-level code. Each must exit 0, but for
 * `{ argv, exit }` steps, which must fail with that code.
 */
const WARM_UP = {
  version: [['--version']],
  build: [['build', '--help'], ['plan', '--help'], ['plan', '--dir', 'DIR', '--pull', 'never']],
  // A real pull and real pushes (measured on a push whose blobs all mount: ~3 ms less than with a
  // cache of --help runs, whose pull and push code was compiled at every start).
  'image-transfer': [
    ['image', 'pull', '--help'],
    ['image', 'push', '--help'],
    ['image', 'pull', 'REG/warm-up/base:1'],
    ['image', 'pull', '--quiet', 'REG/warm-up/base:1'],
    // Uploads: the registry refuses mounts into `upload`.
    ['image', 'push', 'REG/warm-up/base:1', 'REG/warm-up/upload:1'],
    // Mounts, as a push to a 2nd/3rd repository does: the blob-info cache knows where the blobs are.
    ['image', 'push', '--quiet', 'REG/warm-up/base:1', 'REG/warm-up/copy:1'],
    { argv: ['image', 'pull', 'REG/warm-up/missing:1'], exit: 3 },
  ],
  image: [['image', '--help'], ['image', 'pull', '--help'], ['image', 'push', '--help']],
  all: [
    ['--version'],
    ...['build', 'run', 'config', 'stages', 'doctor', 'image', 'login', 'bundle', 'stapel'].map((c) => [c, '--help']),
    ['render', '--dir', 'DIR'],
    ['config', 'list', '--dir', 'DIR'],
    ['plan', '--dir', 'DIR', '--pull', 'never'],
  ],
};

/**
 * Writes a bundle's code cache: loads it without one, runs its warm-up (so the functions start-up,
 * planning and transfers run are compiled too) and serialises what V8 compiled. Atomic: a reader sees
 * the old cache or the new one. Call it in a node process started without flags, one bundle per
 * process, where nothing else runs: it sets TSBUILD_HOME and the auth file variables for the warm-up,
 * whose files (a temporary directory) and registry (127.0.0.1) are gone when it resolves. A warm-up
 * step that goes wrong rejects, after the cache is written.
 */
async function produceCodeCache(name) {
  const { exports, script } = loadCli(name, { withoutCache: true });
  const work = mkdtempSync(join(tmpdir(), 'tsbuild-code-cache-'));
  const failed = [];
  // A step that never ends (a request left waiting) must not hang `npm run build` or an install.
  const watchdog = setTimeout(() => {
    process.stderr.write(`tsbuild: the code cache warm-up of the ${name} bundle did not finish in 2 minutes\n${failed.join('\n')}\n`);
    rmSync(work, { recursive: true, force: true });
    process.exit(1);
  }, 120_000).unref();
  let registry;
  try {
    writeFileSync(join(work, 'werf.yaml'), WARM_UP_PROJECT);
    process.env.TSBUILD_HOME = join(work, 'home');
    // No credentials of the user's are read or sent: the warm-up registry asks for none, and the
    // auth files looked up are these (missing) ones.
    process.env.REGISTRY_AUTH_FILE = join(work, 'auth.json');
    process.env.DOCKER_CONFIG = join(work, 'docker');
    for (const s of WARM_UP[name]) {
      const step = Array.isArray(s) ? { argv: s, exit: 0 } : s;
      const needsRegistry = step.argv.some((a) => a.startsWith('REG/'));
      if (needsRegistry && registry === undefined) {
        try {
          registry = await startWarmUpRegistry();
        } catch (err) {
          // Not the build's fault (no IPv4 loopback here?): a cache without those steps is still a cache.
          process.stderr.write(`tsbuild: the code cache warm-up of the ${name} bundle goes on without its registry steps: no registry on 127.0.0.1 (${err.message})\n`);
          registry = null;
        }
      }
      if (needsRegistry && registry === null) continue;
      const argv = step.argv.map((a) => (a === 'DIR' ? work : a.replace(/^REG\//, `${registry?.host}/`)));
      const output = await quietly(async () => {
        process.exitCode = 0;
        await exports.main(['node', 'tsbuild', ...argv]);
      });
      if ((process.exitCode ?? 0) !== step.exit) failed.push(`tsbuild ${argv.join(' ')}: exit ${process.exitCode}, not ${step.exit}\n${output}`);
    }
  } finally {
    await registry?.close();
    rmSync(work, { recursive: true, force: true });
    clearTimeout(watchdog);
  }
  process.exitCode = 0;
  // V8 stamps the cache with its flags: nothing above may change them (v8.setFlagsFromString in
  // the CLI would make every later start reject the cache; setting a flag back does not restore the
  // stamp). scripts/bundle.mjs checks that a fresh node accepts the result.
  const tmp = `${cachePath(name)}.${process.pid}.tmp`;
  writeFileSync(tmp, script.createCachedData());
  renameSync(tmp, cachePath(name));
  // The cache is written all the same (it is still of use); the build says what went wrong.
  if (failed.length > 0) throw new Error(`the code cache warm-up of the ${name} bundle went wrong:\n${failed.join('\n')}`);
}

/** Runs fn with what the CLI writes to stdout and stderr kept back, and returns that text. */
async function quietly(fn) {
  const kept = [];
  const writes = [process.stdout.write, process.stderr.write];
  const keep = (chunk, encoding, callback) => {
    kept.push(String(chunk));
    if (typeof encoding === 'function') encoding();
    else if (typeof callback === 'function') callback();
    return true;
  };
  process.stdout.write = keep;
  process.stderr.write = keep;
  try {
    await fn();
  } finally {
    [process.stdout.write, process.stderr.write] = writes;
  }
  return kept.join('');
}

module.exports = { produceCodeCache };
