// What execvp would find for a command inside an image root, decided before the sandbox starts so
// that `tsbuild run` can answer as `docker run` does: 127 with "executable file not found in $PATH"
// (or "no such file or directory" for a path), 126 with "permission denied" / "is a directory".
// Symlinks are followed inside the root only (an absolute target restarts at the image's /). A file
// whose interpreter (#! line, or an ELF program's dynamic loader) the image lacks fails the exec with
// ENOENT too: reported the same way, naming the interpreter.
import { lstat, open, readlink, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';

export type ExecLookup = { found: true; path: string } | { found: false; exitCode: 126 | 127; message: string };

const MAX_LINKS = 40;

/** The host path an in-image path names, symlinks resolved within the root; undefined if missing. */
export async function resolveInRoot(rootfs: string, path: string): Promise<string | undefined> {
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop(); // never above the image's /
      continue;
    }
    const host = join(rootfs, ...done, part);
    let st;
    try {
      st = await lstat(host);
    } catch {
      return undefined;
    }
    if (st.isSymbolicLink()) {
      if (++links > MAX_LINKS) return undefined;
      const target = await readlink(host);
      if (target.startsWith('/')) done.length = 0;
      pending.unshift(...target.split('/').filter(Boolean));
      continue;
    }
    done.push(part);
  }
  return join(rootfs, ...done);
}

async function check(rootfs: string, inImage: string, shown: string): Promise<ExecLookup | 'missing'> {
  const host = await resolveInRoot(rootfs, inImage);
  if (host === undefined) return 'missing';
  const st = await stat(host).catch(() => undefined);
  if (!st) return 'missing';
  if (st.isDirectory()) return { found: false, exitCode: 126, message: `exec: "${shown}": is a directory` };
  if (!st.isFile() || (st.mode & 0o111) === 0) return { found: false, exitCode: 126, message: `exec: "${shown}": permission denied` };
  const interpreter = await interpreterOf(host);
  if (interpreter !== undefined && (await resolveInRoot(rootfs, interpreter)) === undefined) {
    return { found: false, exitCode: 127, message: `exec: "${shown}": no such file or directory (its interpreter ${interpreter} is not in the image)` };
  }
  return { found: true, path: inImage };
}

const PT_INTERP = 3;

/** The program that execve would load first: a script's #! interpreter, an ELF program's PT_INTERP. */
async function interpreterOf(host: string): Promise<string | undefined> {
  const fh = await open(host, 'r').catch(() => undefined);
  if (!fh) return undefined;
  try {
    const head = Buffer.alloc(256);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead >= 2 && head[0] === 0x23 && head[1] === 0x21) {
      const line = head.subarray(2, bytesRead).toString('latin1').split('\n')[0]!.trim();
      const path = line.split(/[ \t]/)[0];
      return path?.startsWith('/') ? path : undefined;
    }
    if (bytesRead < 64 || head.readUInt32BE(0) !== 0x7f454c46) return undefined;
    const is64 = head[4] === 2;
    const le = head[5] === 1;
    const u16 = (b: Buffer, o: number): number => (le ? b.readUInt16LE(o) : b.readUInt16BE(o));
    const u32 = (b: Buffer, o: number): number => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
    const word = (b: Buffer, o: number): number => (is64 ? Number(le ? b.readBigUInt64LE(o) : b.readBigUInt64BE(o)) : u32(b, o));
    const phoff = word(head, is64 ? 0x20 : 0x1c);
    const phentsize = u16(head, is64 ? 0x36 : 0x2a);
    const phnum = Math.min(u16(head, is64 ? 0x38 : 0x2c), 256);
    if (phentsize < (is64 ? 56 : 32)) return undefined;
    const table = Buffer.alloc(phentsize * phnum);
    await fh.read(table, 0, table.length, phoff);
    for (let i = 0; i < phnum; i++) {
      const ph = table.subarray(i * phentsize, (i + 1) * phentsize);
      if (u32(ph, 0) !== PT_INTERP) continue;
      const offset = word(ph, is64 ? 0x08 : 0x04);
      const size = Math.min(word(ph, is64 ? 0x20 : 0x10), 4096);
      const name = Buffer.alloc(size);
      await fh.read(name, 0, size, offset);
      const path = name.toString('latin1').split('\0')[0];
      return path || undefined;
    }
    return undefined;
  } catch {
    return undefined; // unreadable or malformed: let the exec itself decide
  } finally {
    await fh.close();
  }
}

/**
 * Look `command` up as execvp does in the sandbox: a name with a slash is a path (relative to
 * `cwd`), any other name is searched in PATH (the sandbox's, from the image and -e).
 */
export async function findExecutable(rootfs: string, command: string, env: readonly string[], cwd: string): Promise<ExecLookup> {
  if (command === '') return { found: false, exitCode: 127, message: 'exec: "": executable file not found in $PATH' };
  if (command.includes('/')) {
    const r = await check(rootfs, posix.resolve(cwd, command), command);
    return r === 'missing' ? { found: false, exitCode: 127, message: `exec: "${command}": no such file or directory` } : r;
  }
  const pathVar = env.findLast((e) => e.startsWith('PATH='))?.slice(5) ?? '';
  let denied: ExecLookup | undefined;
  for (const dir of pathVar.split(':')) {
    const r = await check(rootfs, posix.resolve(cwd, dir || '.', command), command);
    if (r === 'missing') continue;
    if (r.found) return r;
    denied ??= r; // execvp goes on after EACCES and reports it only if nothing else is found
  }
  return denied ?? { found: false, exitCode: 127, message: `exec: "${command}": executable file not found in $PATH` };
}
