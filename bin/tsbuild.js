#!/usr/bin/env node
// Entry point: the compiled CLI lives in dist/ (built by ./scripts/setup). dist/bundle/ is the same
// code bundled for start-up time (scripts/bundle.mjs); it is used only when it is at least as new as
// the plain compiled output, so a `tsc` run without re-bundling never runs stale code.
import { readFileSync, statSync } from 'node:fs';

function bundleIsFresh() {
  try {
    return statSync(new URL('../dist/bundle/main.js', import.meta.url)).mtimeMs >= statSync(new URL('../dist/cli/main.js', import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
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
  const cmd = process.argv[2];
  if ((cmd !== 'build' && cmd !== 'run') || process.argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h')) return undefined;
  if (userNamespacesEnabled()) return undefined;
  const ns = await import('../dist/runtime/mount-namespace.js').catch(() => undefined);
  if (!ns?.wantsPrivateMounts()) return undefined;
  return ns.runInPrivateMountNamespace([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
}

// As root, `build` and `run` go on as root of a user namespace over a subordinate range (issue 14,
// runtime/userns.ts); decided and done here, before the CLI is loaded, so the command is not loaded
// twice. When that is not possible the CLI decides again, warns and falls back.
async function inRootUserNamespace() {
  const cmd = process.argv[2];
  if ((cmd !== 'build' && cmd !== 'run') || process.argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h')) return undefined;
  if (process.getuid?.() !== 0 || process.env.TSBUILD_ID_MODE) return undefined;
  const [probe, userns] = await Promise.all([
    import('../dist/runtime/probe.js').catch(() => undefined),
    import('../dist/runtime/userns.js').catch(() => undefined),
  ]);
  if (!probe || !userns) return undefined;
  const decision = await probe.decideIdMode();
  if (decision.mode !== 'subuid') return undefined;
  return userns.runInUserNamespace([process.execPath, ...process.execArgv, ...process.argv.slice(1)], decision);
}

// As root, `build` enters its namespace only when it has a stage to build (runtime/namespace-deferral.ts):
// it plans in this process, and a build with every stage stored runs in this process alone.
async function buildDefersNamespace() {
  if (process.argv[2] !== 'build' || process.argv.some((a) => a === '--dry-run' || a === '--help' || a === '-h')) return false;
  const check = await import('../dist/runtime/can-defer-namespace.js').catch(() => undefined);
  return !!check?.canDeferNamespace();
}

const entry = bundleIsFresh() ? '../dist/bundle/main.js' : '../dist/cli/main.js';
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
    return import(entry).then((m) => m.main(process.argv));
  })
  .catch((err) => {
    process.stderr.write(`tsbuild: cannot start: ${err?.stack ? err.stack : err}\n`);
    process.exit(4);
  });
