#!/usr/bin/env node
// Checks that imports point one way (STYLE.md "The shape"): base <- oci <- content/layer/image <-
// registry <- storage <- conveyor <- lib/index.ts; config and git know nothing of OCI; runtime never
// imports conveyor, storage or registry; nothing imports cli.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const BASE = ['errors', 'digest', 'events', 'internal', 'home'];
const allowed = {
  errors: [], digest: BASE, events: BASE, internal: BASE, home: BASE,
  oci: BASE,
  content: [...BASE, 'oci'],
  layer: [...BASE, 'oci', 'content'],
  sandbox: [...BASE, 'oci'],
  image: [...BASE, 'oci', 'content', 'layer', 'sandbox'],
  registry: [...BASE, 'oci', 'content', 'image'],
  storage: [...BASE, 'oci', 'content', 'image', 'registry'],
  config: [...BASE, 'git'],
  git: BASE,
  conveyor: [...BASE, 'oci', 'content', 'layer', 'image', 'registry', 'storage', 'config', 'git', 'sandbox'],
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
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

const problems = [];
for (const top of ['lib', 'cli', 'runtime']) {
  for (const file of walk(join(root, top))) {
    if (file.endsWith('.test.ts')) continue;
    const from = moduleOf(file);
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(/^\s*(?:import|export)[^'"]*?from\s+['"](\.[^'"]+)['"]/gm)) {
      const target = moduleOf(resolve(dirname(file), m[1]));
      if (!target || target === from) continue;
      const where = `${relative(root, file)} imports ${m[1]}`;
      if (target === 'cli') problems.push(`${where}: nothing may import cli/`);
      else if (from === 'runtime' && ['conveyor', 'storage', 'registry', 'index'].includes(target)) problems.push(`${where}: runtime/ must not import ${target}`);
      else if (allowed[from] && !allowed[from].includes(target)) problems.push(`${where}: lib/${from} may not depend on ${target}`);
    }
  }
}
if (problems.length) {
  console.error(`dependency direction check failed:\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
