#!/usr/bin/env node
// Bundles the compiled CLI (dist/cli/main.js) into dist/bundle/ with esbuild, for start-up time:
// resolving, reading and compiling ~180 small ES modules costs node more than one bundle of the same
// code (measured: `tsbuild build --help` 0.16 s from dist/cli, 0.10 s from the bundle; node -e 0 is
// 0.05 s). Each command stays a separate chunk (cli/main.ts imports commands on demand), so
// `--version` loads commander alone.
//
// The worker threads (lib/layer/*-worker.js) are entry points next to main.js and every chunk sits in
// the same flat directory: `new URL('./gzip-worker.js', import.meta.url)` in any chunk finds them.
// The native addon is found by walking up from the chunk to native/load-fsx.cjs (lib/layer/fsx.ts).
// bin/tsbuild.js uses the bundle only when it is at least as new as dist/cli/main.js, so a bare `tsc`
// (without this step) can never run stale code.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
rmSync(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/cli/main.js', 'dist/lib/layer/gzip-worker.js', 'dist/lib/layer/pack-worker.js', 'dist/lib/layer/unpack-worker.js'],
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunk-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // commander is CommonJS: inside an ES module bundle its require('node:events') needs a real require.
  banner: { js: "import { createRequire as __tsbuildCreateRequire } from 'node:module'; const require = __tsbuildCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});
