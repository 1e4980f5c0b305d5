#!/usr/bin/env node
// Checks the module structure of STYLE.md "The shape", from the import lines of lib/, cli/ and
// runtime/ (tests excluded):
// - imports point one way: base <- oci <- content/layer/image <- registry <- storage <- conveyor <-
//   lib/index.ts; config and git know nothing of OCI; runtime never imports conveyor, storage,
//   registry or the facade; nothing imports cli;
// - a module is entered through its index.ts (lib/internal, a folder of leaf helpers, and the
//   single-file base modules excepted), or through a lean entry (LEAN_ENTRIES) by cli/;
// - a lean entry reaches, by the imports evaluated at run time, none of the modules it keeps out;
// - no import cycle between files.
import { readFileSync, readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const BASE = ['errors', 'digest', 'events', 'internal', 'home'];
const allowed = {
  errors: [],
  digest: BASE,
  events: BASE,
  internal: BASE,
  home: BASE,
  oci: BASE,
  content: [...BASE, 'oci'],
  layer: [...BASE, 'oci', 'content'],
  sandbox: [...BASE, 'oci'],
  image: [...BASE, 'oci', 'content', 'layer', 'sandbox'],
  registry: [...BASE, 'oci', 'content', 'image'],
  storage: [...BASE, 'oci', 'content', 'image', 'registry'],
  config: [...BASE, 'git'],
  git: BASE,
  // The ansible toolchain image: built from Debian packages into a layer; knows the sandbox layout.
  stapel: [...BASE, 'oci', 'content', 'layer', 'sandbox'],
  conveyor: [...BASE, 'oci', 'content', 'layer', 'image', 'registry', 'storage', 'config', 'git', 'sandbox', 'stapel'],
  // The use cases (build, plan, run, inspect) wire the library's modules; only the facade imports them.
  'use-cases': [...BASE, 'oci', 'content', 'layer', 'image', 'registry', 'storage', 'config', 'git', 'sandbox', 'stapel', 'conveyor'],
  // The facade wires every library module; it is imported only by cli/ (and tests).
  index: [...BASE, 'oci', 'content', 'layer', 'image', 'registry', 'storage', 'config', 'git', 'sandbox', 'stapel', 'conveyor', 'use-cases'],
};
/** Modules that are folders of leaf files, imported file by file. */
const NO_INDEX = new Set(['internal']);
/**
 * Deliberate second entries into a module, for start-up time: cli/ may import them instead of the
 * module's index.ts, and what they reach through imports evaluated at run time (`import type` and
 * import() excepted) may not include the modules listed. lib/use-cases/image-transfer.ts: `image
 * push` and `image pull` run from a lean bundle whose every module is evaluated at start (issue 15);
 * the use cases' index.ts would add the conveyor, config and templates (~0.8 MB), and lib/image and
 * lib/layer are loaded by import() only by the use cases that need them.
 */
const LEAN_ENTRIES = {
  'use-cases/image-transfer.ts': ['conveyor', 'config', 'git', 'storage', 'stapel', 'sandbox', 'image', 'layer', 'index'],
};

function moduleOf(file) {
  const rel = relative(root, file).replace(/\\/g, '/');
  if (rel.startsWith('cli/')) return 'cli';
  if (rel.startsWith('runtime/')) return 'runtime';
  if (rel.startsWith('test/')) return 'test';
  if (rel === 'lib/index.ts') return 'index';
  const m = /^lib\/([^/.]+)/.exec(rel);
  return m ? m[1] : undefined;
}

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** The .ts file an import specifier names (".js" in the source, ".ts" on disk). */
function targetFile(from, spec) {
  const p = resolve(dirname(from), spec);
  return p.endsWith('.js') ? p.slice(0, -3) + '.ts' : p;
}

const problems = [];
const graph = new Map();
/** Imports evaluated at run time (not `import type`/`export type`), for the lean entries. */
const runtimeGraph = new Map();
for (const top of ['lib', 'cli', 'runtime']) {
  for (const file of walk(join(root, top))) {
    const from = moduleOf(file);
    const src = readFileSync(file, 'utf8');
    const edges = [];
    const runtimeEdges = [];
    for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
      const spec = m[1];
      const target = targetFile(file, spec);
      edges.push(target);
      if (!/^\s*(?:import|export)\s+type\b/.test(m[0])) runtimeEdges.push(target);
      const to = moduleOf(target);
      const where = `${relative(root, file)} imports ${spec}`;
      if (!to || to === from) continue;
      if (to === 'cli') problems.push(`${where}: nothing may import cli/`);
      else if (from === 'runtime' && ['conveyor', 'storage', 'registry', 'index', 'stapel'].includes(to))
        problems.push(`${where}: runtime/ must not import ${to}`);
      else if (allowed[from] && !allowed[from].includes(to)) problems.push(`${where}: lib/${from} may not depend on ${to}`);
      // Entering another lib module: only through its index.ts.
      const rel = relative(join(root, 'lib'), target).replace(/\\/g, '/');
      const leanEntry = from === 'cli' && Object.hasOwn(LEAN_ENTRIES, rel);
      if (
        !rel.startsWith('..') &&
        rel.includes('/') &&
        !NO_INDEX.has(to) &&
        existsSync(join(root, 'lib', to, 'index.ts')) &&
        rel !== `${to}/index.ts` &&
        !leanEntry
      ) {
        problems.push(`${where}: import lib/${to} through its index.ts, not ${rel}`);
      }
    }
    graph.set(file, edges);
    runtimeGraph.set(file, runtimeEdges);
  }
}

for (const [entry, keepOut] of Object.entries(LEAN_ENTRIES)) {
  const start = join(root, 'lib', entry);
  if (!runtimeGraph.has(start)) {
    problems.push(`lean entry lib/${entry} does not exist (LEAN_ENTRIES in scripts/check-deps.mjs)`);
    continue;
  }
  // Breadth first, so each offence is reported with the shortest chain that leads to it.
  const via = new Map([[start, undefined]]);
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.shift();
    for (const next of runtimeGraph.get(file) ?? []) {
      if (via.has(next)) continue;
      via.set(next, file);
      const to = moduleOf(next);
      if (keepOut.includes(to)) {
        const chain = [];
        for (let f = next; f !== undefined; f = via.get(f)) chain.unshift(relative(root, f));
        problems.push(`lean entry lib/${entry} loads lib/${to} at start: ${chain.join(' -> ')} (import it with import() where it is needed)`);
        continue;
      }
      queue.push(next);
    }
  }
}

// Cycles between files, type-only imports included: a cycle of types still ties two files together
// (the usual fix is to move the shared types into the file both already import).
const state = new Map();
const stack = [];
const reported = new Set();
function visit(file) {
  state.set(file, 'open');
  stack.push(file);
  for (const next of graph.get(file) ?? []) {
    if (!graph.has(next)) continue;
    if (state.get(next) === 'open') {
      const cycle = stack.slice(stack.indexOf(next)).map((f) => relative(root, f));
      const key = [...cycle].sort().join(' ');
      if (!reported.has(key)) {
        reported.add(key);
        problems.push(`import cycle: ${[...cycle, relative(root, next)].join(' -> ')}`);
      }
    } else if (!state.has(next)) visit(next);
  }
  stack.pop();
  state.set(file, 'done');
}
for (const file of graph.keys()) if (!state.has(file)) visit(file);

if (problems.length) {
  console.error(`module structure check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
