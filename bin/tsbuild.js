#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by `npm ci` through the prepare script).
import('../dist/cli/main.js').then((m) => m.main(process.argv)).catch((err) => {
  process.stderr.write(`tsbuild: cannot start: ${err && err.stack ? err.stack : err}\n`);
  process.exit(4);
});
