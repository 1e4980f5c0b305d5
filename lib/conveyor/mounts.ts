// werf's `mount:` directives: tmp_dir (fresh per build), build_dir (persistent per project, locked
// while a stage uses it) and fromPath (a host path). Bound into every user stage, never in a layer.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { TsbuildError } from '../errors.js';
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
  /**
   * A directory made when a stage first binds it, not when the build plans: root's build plans as
   * host root before it enters its namespace (runtime/namespace-deferral.ts), and a directory made
   * then would not be writable by the steps; a build with nothing to run makes none.
   */
  create?: boolean;
}

function slug(to: string): string {
  return to.replace(/^\/+/, '').replace(/[^A-Za-z0-9_.-]+/g, '-') || 'root';
}

/**
 * An image name as one path component of this build's temp dir: distinct names stay distinct, and
 * none is "." or ".." or holds a "/" — werf.yaml names images freely ("../../../etc" included).
 */
function imageDir(name: string): string {
  return name === '' ? 'image' : encodeURIComponent(name).replace(/\./g, '%2E');
}

export async function resolveMounts(project: string, image: ImageSpec, dirs: MountDirs): Promise<StageMount[]> {
  const out: StageMount[] = [];
  for (const m of image.mounts) {
    let source: string;
    let lock: string | undefined;
    if (m.from === 'tmp_dir') {
      source = join(dirs.buildTmp, 'mounts', imageDir(image.name), slug(m.to));
    } else if (m.from === 'build_dir') {
      source = join(dirs.buildDirRoot, project, slug(m.to));
      lock = `${source}.lock`;
    } else {
      const p = m.fromPath!.startsWith('~/') ? join(homedir(), m.fromPath!.slice(2)) : m.fromPath!;
      source = isAbsolute(p) ? p : resolve(dirs.projectDir, p);
    }
    out.push({ source, target: m.to, create: true, ...(lock ? { lock } : {}) });
  }
  return out;
}

/**
 * werf v2 `secrets`: each value (from an env var, a host file or a literal) is written to a private
 * file of this build and bound read-only at /run/secrets/<id> in user stages. Values are not part
 * of any signature and never reach a layer.
 */
export async function resolveSecrets(image: ImageSpec, dirs: MountDirs, env: NodeJS.ProcessEnv = process.env): Promise<StageMount[]> {
  if (image.secrets.length === 0) return [];
  const dir = join(dirs.buildTmp, 'secrets', imageDir(image.name));
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out: StageMount[] = [];
  for (const s of image.secrets) {
    let value: Buffer;
    if (s.env !== undefined) {
      const v = env[s.env];
      if (v === undefined) {
        throw new TsbuildError('TSB_CONFIG_SCHEMA', `image "${image.name}": secret "${s.id}" reads the environment variable ${s.env}, which is not set`, {
          hint: `export ${s.env}=… before the build`,
        });
      }
      value = Buffer.from(v);
    } else if (s.src !== undefined) {
      const p = s.src.startsWith('~/') ? join(homedir(), s.src.slice(2)) : isAbsolute(s.src) ? s.src : resolve(dirs.projectDir, s.src);
      try {
        value = await readFile(p);
      } catch (err) {
        throw new TsbuildError('TSB_CONFIG_SCHEMA', `image "${image.name}": secret "${s.id}": cannot read ${p}: ${(err as Error).message}`);
      }
    } else {
      value = Buffer.from(s.value ?? '');
    }
    const file = join(dir, s.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
    await writeFile(file, value, { mode: 0o400 });
    out.push({ source: file, target: `/run/secrets/${s.id}`, readonly: true });
  }
  return out;
}
