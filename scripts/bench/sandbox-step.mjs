#!/usr/bin/env node
// Per-step cost of the step isolation (issue 14), without the rest of a build: `/bin/true` in a
// busybox root, REPS times each, alternating, medians in ms. Run as root.
//   previous:  bwrap as the sandbox started steps before the isolation work (as root, no user
//              namespace, full capabilities, no seccomp filter, /proc/sys writable)
//   seccomp:   today's BwrapSandbox as host root (Docker's capabilities minus MKNOD, the filter,
//              read-only /proc/sys) — what a root build gets where user namespaces are refused
//   userns:    today's BwrapSandbox inside root's user namespace, the step in the child namespace
//              with its mounts staged — what a root build gets
// Usage: node scripts/bench/sandbox-step.mjs [REPS]   (from a compiled checkout: ./scripts/setup)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const dist = new URL('../../dist/', import.meta.url).pathname;
const reps = Number(process.argv[2] ?? 30);
const { BwrapSandbox, BWRAP, bwrapArgs } = await import(join(dist, 'runtime/bwrap-sandbox.js'));
const { StepNamespace } = await import(join(dist, 'runtime/step-namespace.js'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** bwrap arguments without the read-only /proc binds and capability options. */
function withoutIsolation(args) {
  const out = [];
  for (let i = 0; i < args.length; i++) {
    if (/^--ro-bind(-try)?$/.test(args[i]) && args[i + 1]?.startsWith('/proc/')) i += 2;
    else if (args[i] === '--cap-drop' || args[i] === '--cap-add') i += 1;
    else out.push(args[i]);
  }
  return out;
}

async function time(fn) {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

const spec = (rootfs) => ({
  rootfs,
  argv: ['/bin/true'],
  env: ['PATH=/bin'],
  cwd: '/',
  uid: 0,
  gid: 0,
  network: 'host',
  mounts: [{ source: '/usr/bin/bash-static', target: '/bash', readonly: true }],
});

if (process.env.TSBUILD_BENCH_INNER) {
  // Inside root's user namespace: the step namespace as a root build uses it.
  const sandbox = new BwrapSandbox(undefined, new StepNamespace(65536));
  const out = [];
  for (let i = 0; i < reps; i++) out.push(await time(() => sandbox.run(spec(process.env.TSBUILD_BENCH_INNER))));
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

const { busyboxTree } = await import(join(dist, 'test/support/local-image.js'));
const tree = await busyboxTree();
// The namespace's root must be able to enter the tree: a copy under a directory open to it.
const open = mkdtempSync(join(tmpdir(), 'tsbuild-bench-step-'));
spawnSync('chmod', ['755', open]);
const rootfs = join(open, 'rootfs');
spawnSync('cp', ['-a', tree.dir, rootfs]);
await tree.cleanup();
try {
  // The runtime's own argv for the step, less what the isolation work added (read-only /proc
  // binds, the capability set; no seccomp fd): the same mounts, env and flags as today otherwise.
  const previousArgs = withoutIsolation(bwrapArgs(spec(rootfs), { seccomp: false, cwdResolved: true }));
  const previous = () =>
    new Promise((resolve) => {
      const c = spawn(BWRAP, previousArgs, { stdio: 'ignore' });
      c.on('close', resolve);
    });
  const hostRoot = new BwrapSandbox();
  const results = { previous: [], seccomp: [] };
  for (let i = 0; i < reps; i++) {
    results.previous.push(await time(previous));
    results.seccomp.push(await time(() => hostRoot.run(spec(rootfs))));
  }
  // The userns variant runs inside the namespace a root build re-executes into (one process for all reps).
  const { runInUserNamespace } = await import(join(dist, 'runtime/userns.js'));
  const { rootIdRanges } = await import(join(dist, 'runtime/root-id-range.js'));
  const ranges = await rootIdRanges();
  const outFile = join(open, 'userns.json');
  process.env.TSBUILD_BENCH_INNER = rootfs;
  const code = await runInUserNamespace(['/bin/sh', '-c', `"$0" "$1" ${reps} > ${outFile}`, process.execPath, new URL(import.meta.url).pathname], {
    mode: 'subuid',
    uid: 0,
    gid: 0,
    subuid: ranges.subuid,
    subgid: ranges.subgid,
    hostRoot: { source: ranges.source },
  });
  if (code !== 0) throw new Error(`userns run failed (${code})`);
  const userns = JSON.parse(spawnSync('cat', [outFile], { encoding: 'utf8' }).stdout);
  const m = { previous: median(results.previous), seccomp: median(results.seccomp), userns: median(userns) };
  console.log(
    `reps=${reps} median ms per step: previous ${m.previous.toFixed(1)}, seccomp+caps ${m.seccomp.toFixed(1)} (+${(m.seccomp - m.previous).toFixed(1)}), userns+staging+seccomp+caps ${m.userns.toFixed(1)} (+${(m.userns - m.previous).toFixed(1)})`,
  );
} finally {
  rmSync(open, { recursive: true, force: true });
}
