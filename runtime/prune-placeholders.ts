// Remove the mount points bwrap created (empty directories and empty files) from a stage's changes,
// deepest first, never following a symlink (a stage may have replaced a parent with one).
import { lstat, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';

async function realDirChain(root: string, parts: string[]): Promise<boolean> {
  let p = root;
  for (const part of parts) {
    p = join(p, part);
    const st = await lstat(p).catch(() => undefined);
    if (!st?.isDirectory()) return false;
  }
  return true;
}

export async function prunePlaceholders(root: string, paths: readonly string[]): Promise<void> {
  for (const path of [...paths].sort((a, b) => b.length - a.length)) {
    const parts = path.split('/').filter(Boolean);
    if (parts.length === 0 || !(await realDirChain(root, parts.slice(0, -1)))) continue;
    const abs = join(root, ...parts);
    const st = await lstat(abs).catch(() => undefined);
    if (!st) continue;
    if (st.isDirectory()) await rmdir(abs).catch(() => undefined);
    else if (st.isFile() && st.size === 0) await unlink(abs).catch(() => undefined);
  }
}
