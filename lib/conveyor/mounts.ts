// werf's `mount:` directives: tmp_dir (fresh per build), build_dir (persistent per project, locked
// while a stage uses it) and fromPath (a host path). Bound into every user stage, never in a layer.
import { mkdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { ImageSpec } from '../config/index.js';
import type { BindMount } from '../sandbox/index.js';

export interface MountDirs {
  /** Per-build temporary directory (removed after the build). */
  buildTmp: string;
  /** $TSBUILD_HOME/build_dir */
  buildDirRoot: string;
  projectDir: string;
}

export interface StageMount extends BindMount {
  /** Lock file to hold while the stage runs (build_dir is shared by every build of the project). */
  lock?: string;
}

function slug(to: string): string {
  return to.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'root';
}

export async function resolveMounts(project: string, image: ImageSpec, dirs: MountDirs): Promise<StageMount[]> {
  const out: StageMount[] = [];
  for (const m of image.mounts) {
    let source: string;
    let lock: string | undefined;
    if (m.from === 'tmp_dir') {
      source = join(dirs.buildTmp, 'mounts', image.name || 'image', slug(m.to));
    } else if (m.from === 'build_dir') {
      source = join(dirs.buildDirRoot, project, slug(m.to));
      lock = `${source}.lock`;
    } else {
      const p = m.fromPath!.startsWith('~/') ? join(homedir(), m.fromPath!.slice(2)) : m.fromPath!;
      source = isAbsolute(p) ? p : resolve(dirs.projectDir, p);
    }
    await mkdir(source, { recursive: true });
    out.push({ source, target: m.to, ...(lock ? { lock } : {}) });
  }
  return out;
}
