// The tsbuild package copied where an unprivileged user can read it. A checkout may live where only
// root can enter (root clones into /root/...), so tests that run the CLI as another user run this
// copy: what the npm package holds (package.json, bin, native, compiled dist without tests, the
// native addon) plus the runtime dependencies, under a fresh /tmp directory opened to everyone.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { REPO_ROOT } from './cli.js';

export interface StagedPackage {
  /** The copy's root (a package directory). */
  root: string;
  /** bin/tsbuild.js of the copy. */
  bin: string;
  /** A node the user can execute: this process's own, or a copy when it lives in a closed directory. */
  node: string;
  cleanup(): Promise<void>;
}

/** Runtime dependencies (dependencies and installed optionalDependencies), transitively. */
function runtimeDependencies(): string[] {
  const seen = new Set<string>();
  const visit = (pkgDir: string): void => {
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as {
      dependencies?: Record<string, string>;
      optionalDependencies?: Record<string, string>;
    };
    for (const name of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) {
      if (seen.has(name)) continue;
      // Hoisted layout (npm ci): every package sits directly in the root node_modules.
      const dir = join(REPO_ROOT, 'node_modules', name);
      if (!existsSync(join(dir, 'package.json'))) continue; // an optional dependency not installed here
      seen.add(name);
      visit(dir);
    }
  };
  visit(REPO_ROOT);
  return [...seen].sort();
}

/** Whether every directory above `path` is searchable and the file readable and executable by others. */
function openToOthers(path: string): boolean {
  if ((statSync(path).mode & 0o005) !== 0o005) return false;
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if ((statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

export async function stagePackage(): Promise<StagedPackage> {
  if ((statSync(tmpdir()).mode & 0o001) === 0) throw new Error(`${tmpdir()} (TMPDIR) is not searchable by other users: rootless tests need a shared temp dir`);
  const root = await mkdtemp(join(tmpdir(), 'tsbuild-staged-'));
  const copy = (rel: string, filter?: (src: string) => boolean): Promise<void> =>
    existsSync(join(REPO_ROOT, rel))
      ? cp(join(REPO_ROOT, rel), join(root, rel), { recursive: true, preserveTimestamps: true, ...(filter ? { filter } : {}) })
      : Promise.resolve();
  const notTest = (src: string): boolean => !src.endsWith('.test.js') && !src.endsWith('.test.js.map') && !src.startsWith(join(REPO_ROOT, 'dist', 'test'));
  await copy('package.json');
  await copy('bin');
  await copy('native');
  await copy('dist', notTest);
  await copy(join('build', 'Release', 'fsx.node'));
  await copy('prebuilds');
  for (const name of runtimeDependencies()) await copy(join('node_modules', name));
  let node = process.execPath;
  if (!openToOthers(node)) {
    await mkdir(join(root, 'node'));
    node = join(root, 'node', 'node');
    await cp(process.execPath, node);
  }
  // The checkout's files may carry a private umask (0600): open the copy to everyone, read-only.
  execFileSync('chmod', ['-R', 'a+rX,go-w', root]);
  await chmod(root, 0o755);
  return { root, bin: join(root, 'bin', 'tsbuild.js'), node, cleanup: () => rm(root, { recursive: true, force: true }) };
}
