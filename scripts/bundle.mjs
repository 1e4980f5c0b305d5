#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ with esbuild, for start-up time:
// resolving, reading and compiling ~180 small ES modules costs node more than one bundle of the same
// code (measured: `tsbuild build --help` 0.16 s from dist/cli, 0.10 s from the bundle).
//
// - dist/bundle/cli-<name>.cjs: the CLI as CommonJS files, run by bin/start.cjs through
//   bin/cli-cache.cjs with a V8 code cache each (cli-<name>.cjs.v8cache, written below). CommonJS
//   because node 20 can give a code cache to a vm.Script but not to an ES module. One bundle per kind
//   of command line (cli-cache.cjs's BUNDLES: --version, build/plan, image, everything else), so a
//   command reads and deserialises only its own code; within a bundle commands stay lazy (esbuild
//   turns cli/main.ts's `import()` of a command into a function that runs its modules when called).
// - dist/bundle/start/*.cjs: the few runtime modules bin/start.cjs asks before it loads the CLI.
// - The worker threads (lib/layer/*-worker.js) are ES module entry points with their shared chunks in
//   the same flat directory: `new URL('./gzip-worker.js', import.meta.url)` from a cli bundle (import.meta.url
//   is the bundle file's URL there) finds them.
// The native addon is found by walking up from the bundle to native/load-fsx.cjs (lib/layer/fsx.ts).
// bin/tsbuild.js uses the bundle only when it is at least as new as dist/cli/main.js, so a bare `tsc`
// (without this step) can never run stale code.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
// charset ascii (esbuild's default, set so it stays): strings and identifiers are escaped. It does not
// reach comments esbuild keeps or regular expression literals; asciiOnly() below catches those.
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning', charset: 'ascii' };
await build({
  ...common,
  entryPoints: ['dist/lib/layer/gzip-worker.js', 'dist/lib/layer/pack-worker.js', 'dist/lib/layer/unpack-worker.js'],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  splitting: true,
  format: 'esm',
  // A CommonJS dependency's require('node:events') inside an ES module bundle needs a real require.
  banner: { js: "import { createRequire as __tsbuildCreateRequire } from 'node:module'; const require = __tsbuildCreateRequire(import.meta.url);" },
});
// The CLI bundles (bin/cli-cache.cjs): each holds the command modules its command lines need; the
// others are left out (an import of one would throw, and bin/start.cjs never picks such a bundle).
const cliCache = createRequire(import.meta.url)('../bin/cli-cache.cjs');
for (const [name, keep] of Object.entries(cliCache.BUNDLES)) {
  await build({
    ...common,
    entryPoints: ['dist/cli/main.js'],
    outfile: cliCache.bundlePath(name),
    format: 'cjs',
    define: { 'import.meta.url': '__tsbuildImportMetaUrl' },
    banner: { js: "const __tsbuildImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    plugins: [lazyChildProcess(), ...(keep === null ? [] : [onlyCommands(keep)]), ...(cliCache.STATIC_ONLY.includes(name) ? [staticOnly()] : [])],
  });
}
// What bin/start.cjs asks before it loads the CLI (whether and how to enter namespaces), one file each.
await build({
  ...common,
  entryPoints: ['can-defer-namespace', 'probe', 'userns', 'mount-namespace'].map((m) => `dist/runtime/${m}.js`),
  outdir: join(outdir, 'start'),
  outExtension: { '.js': '.cjs' },
  format: 'cjs',
  define: { 'import.meta.url': '__tsbuildImportMetaUrl' },
  banner: { js: "const __tsbuildImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
asciiOnly(outdir);
for (const name of Object.keys(cliCache.BUNDLES)) {
  const file = cliCache.bundlePath(name);
  // An import() left in a bundle would need node's ES module loader at run time: only node builtins may.
  const dynamic = [...readFileSync(file, 'utf8').matchAll(/(?<![{\w.$])import\(\s*["']([^"']+)["']\s*\)/g)]
    .map((m) => m[1])
    .filter((s) => !s.startsWith('node:'));
  if (dynamic.length > 0) throw new Error(`${file} still imports ${dynamic.join(', ')} at run time: import it statically or through a bundled path`);
  // The code cache, made by a fresh node without flags (V8 rejects a cache made under other flags).
  const cacheModule = JSON.stringify(join(root, 'bin', 'cli-cache.cjs'));
  const produceModule = JSON.stringify(join(root, 'bin', 'produce-code-cache.cjs'));
  execFileSync(process.execPath, ['-e', `require(${produceModule}).produceCodeCache(${JSON.stringify(name)})`], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: '' },
  });
  const accepted = execFileSync(process.execPath, ['-e', `process.stdout.write(String(require(${cacheModule}).codeCacheAccepted(${JSON.stringify(name)})))`], {
    env: { ...process.env, NODE_OPTIONS: '' },
  }).toString();
  if (accepted !== 'true') throw new Error(`V8 rejects the code cache just made for ${file}: did the warm-up change a V8 flag?`);
}

/**
 * Fails the build when a bundle holds a non-ASCII byte: node then decodes the whole file into a
 * two-byte string at every start (measured: 3.5-6 ms instead of 2.7 ms to read the 1.1 MB image
 * bundle), and a code cache does not save that. Names each offending line and what to write instead.
 */
function asciiOnly(dir) {
  const found = [];
  for (const entry of readdirSync(dir, { recursive: true })) {
    const file = join(dir, entry);
    if (!/\.c?js$/.test(file)) continue;
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (/[^\0-\x7f]/.test(line)) found.push(`  ${relative(root, file)}:${i + 1}: ${line.trim().slice(0, 160)}`);
      });
  }
  if (found.length > 0) {
    throw new Error(
      `non-ASCII characters in the bundles (start-up time: node decodes a file with any of them into a two-byte string at every start):\n${found.join('\n')}\n` +
        'Write them in ASCII in the source: a \\u escape in a regular expression, plain ASCII in a comment esbuild keeps (JSDoc, comments in class bodies).',
    );
  }
}

/**
 * An esbuild plugin: node:child_process is loaded when a process is first started, not when the
 * bundle loads. Loading it costs ~2.5 ms, and commander requires it at its top for the executable
 * subcommands tsbuild does not use: `--version`, `image push` and `image pull` never start a process.
 * Its exports become getters of a module of this bundle (the list from this node; the getters hand
 * out node's own functions, so util.promisify(execFile) still resolves to { stdout, stderr }).
 */
function lazyChildProcess() {
  const names = Object.keys(createRequire(import.meta.url)('node:child_process'));
  return {
    name: 'lazy-child-process',
    setup(b) {
      b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
        args.namespace === 'tsbuild-lazy' ? { path: 'node:child_process', external: true } : { path: 'child_process', namespace: 'tsbuild-lazy' },
      );
      b.onLoad({ filter: /.*/, namespace: 'tsbuild-lazy' }, () => ({
        contents: `let real;\nfor (const name of ${JSON.stringify(names)}) Object.defineProperty(module.exports, name, { enumerable: true, get: () => (real ??= require('node:child_process'))[name] });\n`,
        loader: 'js',
      }));
    },
  };
}

/** A module that throws: what a bundle leaves out, should a command line reach it all the same. */
function leftOut(what) {
  return { contents: `throw new Error(${JSON.stringify(`tsbuild: ${what} is not in this bundle (bin/cli-cache.cjs picks the bundle)`)});`, loader: 'js' };
}

/**
 * An esbuild plugin: an import() outside cli/main.ts (which imports the command modules and the error
 * printer that way) becomes a module that throws, so the bundle holds only what is imported statically.
 */
function staticOnly() {
  return {
    name: 'static-only',
    setup(b) {
      b.onResolve({ filter: /^\./ }, (args) => {
        if (args.kind !== 'dynamic-import' || args.importer.endsWith(join('cli', 'main.js'))) return undefined;
        return { path: relative(root, join(args.resolveDir, args.path)), namespace: 'tsbuild-static-only' };
      });
      b.onLoad({ filter: /.*/, namespace: 'tsbuild-static-only' }, (args) => leftOut(args.path));
    },
  };
}

/** An esbuild plugin: cli/main.ts's import() of a command module not in `keep` becomes a module that throws. */
function onlyCommands(keep) {
  return {
    name: 'only-commands',
    setup(b) {
      b.onResolve({ filter: /^\.\/commands\/[a-z-]+\.js$/ }, (args) => {
        if (!args.importer.endsWith(join('cli', 'main.js'))) return undefined;
        const module = args.path.slice('./commands/'.length, -'.js'.length);
        return keep.includes(module) ? undefined : { path: module, namespace: 'tsbuild-left-out' };
      });
      b.onLoad({ filter: /.*/, namespace: 'tsbuild-left-out' }, (args) => leftOut(`the command module ${args.path}`));
    },
  };
}
