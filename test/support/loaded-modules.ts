// Which ES modules a CLI run loads: the start-up tests' way to keep commands from loading what
// they do not use.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

/** The file: URLs node's ES module loader loaded while running tsbuild with `args` (NODE_DEBUG=esm). */
export function loadedModules(entry: string, args: string[]): string[] {
  const code = `import(${JSON.stringify(entry)}).then((m) => m.main(['node', 'tsbuild', ...${JSON.stringify(args)}]))`;
  // NODE_DEBUG=esm prints about 1 MiB for a build (more with a longer checkout path): past spawnSync's
  // default 1 MiB buffer the child is killed (ENOBUFS), so the buffer is raised.
  const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, NODE_DEBUG: 'esm' } });
  assert.equal(r.status, 0, r.stderr);
  const urls = [...r.stderr.matchAll(/Storing (file:\S+)/g)].map((m) => m[1]!);
  assert.ok(
    urls.some((u) => u.endsWith('/main.js')),
    `NODE_DEBUG=esm names no main.js (has its output changed?):\n${r.stderr.slice(0, 2000)}`,
  );
  return urls;
}
