#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ with esbuild, for start-up time:
// resolving, reading and compiling ~180 small ES modules costs node more than one bundle of the same
// code (measured: `tsbuild build --help` 0.16 s from dist/cli, 0.10 s from the bundle).
//
// - dist/bundle/cli.cjs: the CLI as one CommonJS file, run by bin/tsbuild.js through bin/cli-cache.cjs
//   with a V8 code cache (cli.cjs.v8cache, written below). CommonJS because node 20 can give a code
//   cache to a vm.Script but not to an ES module. Commands stay lazy: esbuild turns cli/main.ts's
//   `import()` of a command into a function that runs that command's modules when it is called, so
//   `--version` runs commander alone (the cache covers the compiling of every command's code).
// - dist/bundle/start/*.cjs: the few runtime modules bin/start.cjs asks before it loads the CLI.
// - The worker threads (lib/layer/*-worker.js) are ES module entry points with their shared chunks in
//   the same flat directory: `new URL('./gzip-worker.js', import.meta.url)` from cli.cjs (import.meta.url
//   is the bundle file's URL there) finds them.
// The native addon is found by walking up from the bundle to native/load-fsx.cjs (lib/layer/fsx.ts).
// bin/tsbuild.js uses the bundle only when it is at least as new as dist/cli/main.js, so a bare `tsc`
// (without this step) can never run stale code.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
const common = { absWorkingDir: root, bundle: true, platform: 'node', target: 'node20', sourcemap: 'linked', logLevel: 'warning' };
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
await build({
  ...common,
  entryPoints: ['dist/cli/main.js'],
  outfile: join(outdir, 'cli.cjs'),
  format: 'cjs',
  define: { 'import.meta.url': '__tsbuildImportMetaUrl' },
  banner: { js: "const __tsbuildImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
});
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
// An import() left in the bundle would need node's ES module loader at run time: only node builtins may.
const dynamic = [...readFileSync(join(outdir, 'cli.cjs'), 'utf8').matchAll(/(?<![{\w.$])import\(\s*["']([^"']+)["']\s*\)/g)]
  .map((m) => m[1])
  .filter((s) => !s.startsWith('node:'));
if (dynamic.length > 0) throw new Error(`dist/bundle/cli.cjs still imports ${dynamic.join(', ')} at run time: import it statically or through a bundled path`);

// The code cache, made by a fresh node without flags (V8 rejects a cache made under other flags).
execFileSync(process.execPath, ['-e', `require(${JSON.stringify(join(root, 'bin', 'cli-cache.cjs'))}).produceCodeCache()`], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, NODE_OPTIONS: '', NODE_EXTRA_CA_CERTS: '' },
});
const accepted = execFileSync(
  process.execPath,
  ['-e', `process.stdout.write(String(require(${JSON.stringify(join(root, 'bin', 'cli-cache.cjs'))}).codeCacheAccepted()))`],
  {
    env: { ...process.env, NODE_OPTIONS: '' },
  },
).toString();
if (accepted !== 'true') throw new Error('V8 rejects the code cache just made for dist/bundle/cli.cjs: did the warm-up change a V8 flag?');
