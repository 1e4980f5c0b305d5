#!/usr/bin/env node
// Checks the module structure of STYLE.md "The shape", from the import lines of lib/, cli/ and
// runtime/ (tests excluded):
// - imports point one way: base <- oci <- content/layer/image <- registry <- storage <- conveyor <-
//   lib/index.ts; config and git know nothing of OCI; runtime never imports conveyor, storage,
//   registry or the facade; nothing imports cli;
// - a module is entered through its index.ts (lib/internal, a folder of leaf helpers, and the
//   single-file base modules excepted);
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
for (const top of ['lib', 'cli', 'runtime']) {
  for (const file of walk(join(root, top))) {
    const from = moduleOf(file);
    const src = readFileSync(file, 'utf8');
    const edges = [];
    for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
      const spec = m[1];
      const target = targetFile(file, spec);
      edges.push(target);
      const to = moduleOf(target);
      const where = `${relative(root, file)} imports ${spec}`;
      if (!to || to === from) continue;
      if (to === 'cli') problems.push(`${where}: nothing may import cli/`);
      else if (from === 'runtime' && ['conveyor', 'storage', 'registry', 'index', 'stapel'].includes(to))
        problems.push(`${where}: runtime/ must not import ${to}`);
      else if (allowed[from] && !allowed[from].includes(to)) problems.push(`${where}: lib/${from} may not depend on ${to}`);
      // Entering another lib module: only through its index.ts.
      const rel = relative(join(root, 'lib'), target).replace(/\\/g, '/');
      if (!rel.startsWith('..') && rel.includes('/') && !NO_INDEX.has(to) && existsSync(join(root, 'lib', to, 'index.ts')) && rel !== `${to}/index.ts`) {
        problems.push(`${where}: import lib/${to} through its index.ts, not ${rel}`);
      }
    }
    graph.set(file, edges);
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
