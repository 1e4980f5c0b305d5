// Write a file so that readers see either the old or the new content, never a torn one.
import { chmod, open, rename, unlink, lstat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, basename, join } from 'node:path';

/** `mode` is applied to the temp file before any byte is written (0600 keeps secrets private). */
export async function atomicWriteFile(path: string, data: string | Uint8Array, options: { mode?: number } = {}): Promise<void> {
  const mode = options.mode ?? 0o644;
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.chmod(mode); // the umask may have narrowed it
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await rename(tmp, path);
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  if (options.mode !== undefined) await chmod(path, mode);
}

/** Whether anything (even a dangling symlink) exists at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}
