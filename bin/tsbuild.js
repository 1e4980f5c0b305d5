#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by ./scripts/setup). dist/bundle/ is the same
// code bundled for start-up time (scripts/bundle.mjs); it is used only when it is at least as new as
// the plain compiled output, so a `tsc` run without re-bundling never runs stale code.
import { statSync } from 'node:fs';

function bundleIsFresh() {
  try {
    return statSync(new URL('../dist/bundle/main.js', import.meta.url)).mtimeMs >= statSync(new URL('../dist/cli/main.js', import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
}

const entry = bundleIsFresh() ? '../dist/bundle/main.js' : '../dist/cli/main.js';
import(entry).then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`tsbuild: cannot start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(4);
});
