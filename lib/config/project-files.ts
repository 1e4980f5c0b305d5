// `.Files` for werf.yaml templates: files of the project directory, never outside it (a path or a
// symlink leading out of the project is an error, like werf refusing files outside the repository).
import { lstatSync, readFileSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { join, relative, resolve, sep } from 'node:path';
import { compileGlob } from '../git/index.js';
import type { TemplateFiles } from './template/index.js';

const MAX_FILE_BYTES = 64 << 20;

/** `onRead` sees every file a template reads (path relative to the project, content). */
export function projectFiles(projectDir: string, onRead?: (path: string, text: string) => void): TemplateFiles {
  const root = realpathSync(projectDir);
  const inside = (p: string): boolean => p === root || p.startsWith(root + sep);
  const locate = (path: string): string => {
    const abs = resolve(root, path.replace(/^\/+/, ''));
    if (!inside(abs)) throw new Error(`${JSON.stringify(path)} is outside the project directory`);
    let real: string;
    try {
      real = realpathSync(abs);
    } catch {
      throw new Error(`file ${JSON.stringify(path)} not found in the project directory`);
    }
    if (!inside(real)) throw new Error(`${JSON.stringify(path)} leads outside the project directory`);
    return real;
  };
  const read = (real: string, path: string): string => {
    const st = statSync(real);
    if (!st.isFile()) throw new Error(`${JSON.stringify(path)} is not a regular file`);
    if (st.size > MAX_FILE_BYTES) throw new Error(`${JSON.stringify(path)} is larger than ${MAX_FILE_BYTES} bytes`);
    const text = readFileSync(real, 'utf8');
    onRead?.(relative(root, real).split(sep).join('/'), text);
    return text;
  };
  return {
    Get(path: string): string {
      return read(locate(path), path);
    },
    Glob(pattern: string): Record<string, string> {
      const re = compileGlob(pattern.replace(/^\/+/, ''));
      const out: Record<string, string> = {};
      const walk = (dir: string): void => {
        for (const name of readdirSync(dir).sort()) {
          if (name === '.git') continue;
          const abs = join(dir, name);
          const st = lstatSync(abs);
          const rel = relative(root, abs).split(sep).join('/');
          if (st.isDirectory()) walk(abs);
          else if (re.test(rel)) {
            try {
              const real = realpathSync(abs);
              if (inside(real) && statSync(real).isFile()) out[rel] = read(real, rel);
            } catch {
              /* dangling symlink: not a file */
            }
          }
        }
      };
      walk(root);
      return out;
    },
    Exists(path: string): boolean {
      try {
        locate(path);
        return true;
      } catch {
        return false;
      }
    },
    IsDir(path: string): boolean {
      try {
        return statSync(locate(path)).isDirectory();
      } catch {
        return false;
      }
    },
  };
}

/** `.werf/**\/*.tmpl` files, named by their path relative to `.werf` (werf-spec §4.1). */
export function templateFiles(projectDir: string, dir = '.werf'): Array<{ name: string; text: string }> {
  const base = join(projectDir, dir);
  const out: Array<{ name: string; text: string }> = [];
  const walk = (d: string): void => {
    let names: string[];
    try {
      names = readdirSync(d).sort();
    } catch {
      return;
    }
    for (const n of names) {
      const abs = join(d, n);
      const st = lstatSync(abs);
      if (st.isDirectory()) walk(abs);
      else if (st.isFile() && n.endsWith('.tmpl')) out.push({ name: relative(base, abs).split(sep).join('/'), text: readFileSync(abs, 'utf8') });
    }
  };
  walk(base);
  return out;
}
