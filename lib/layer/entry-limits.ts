// What an entry may say that Linux can hold: ids, device numbers, name lengths. Anything else is the
// layer's fault, said naming the entry — never a silently truncated number or an internal error.
import { readdirSync } from 'node:fs';
import { TsbuildError } from '../errors.js';
import type { TarEntry } from './tar-writer.js';

/** (uid_t)-1 means "leave as is" to chown: an id the layer cannot mean. */
const MAX_ID = 0xfffffffe;

/** Ids and device numbers Linux can hold; anything else would be truncated or wrap around silently. */
export function checkEntryNumbers(e: TarEntry): void {
  for (const [what, v] of [
    ['uid', e.uid],
    ['gid', e.gid],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > MAX_ID) throw invalidEntry(e, `${what} ${v} is outside 0..${MAX_ID}`);
  }
  // The 32-bit device number of mknod: 12-bit major, 20-bit minor.
  if (e.type === 'char' || e.type === 'block') {
    const major = e.devmajor ?? 0;
    const minor = e.devminor ?? 0;
    if (major < 0 || major > 0xfff || minor < 0 || minor > 0xfffff) throw invalidEntry(e, `device number ${major}:${minor} is out of range`);
  }
}

function invalidEntry(e: TarEntry, why: string): TsbuildError {
  return new TsbuildError('TSB_LAYER_INVALID', `invalid layer tar: entry ${JSON.stringify(e.path.slice(0, 200))}: ${why}`);
}

/** A name the file system cannot hold is the layer's fault, said with the entry's name (not an internal error). */
export function nameTooLong(err: unknown, e: TarEntry): unknown {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code !== 'ENAMETOOLONG') return err;
  const longest = Math.max(...e.path.split('/').map((c) => Buffer.byteLength(c)));
  return new TsbuildError(
    'TSB_LAYER_INVALID',
    `invalid layer tar: entry ${JSON.stringify(e.path.slice(0, 200))}${e.path.length > 200 ? '…' : ''} (${Buffer.byteLength(e.path)} bytes, longest component ${longest}) is too long for the file system`,
    { hint: 'Linux allows 255 bytes per name and 4096 per path; rebuild the image with shorter names', cause: err },
  );
}

/**
 * A tree being packed holds a path longer than a path may be (a step can make one with relative
 * mkdir/cd): no layer can carry it, as no unpacker could create it.
 */
export function treePathTooLong(rel: string, cause: unknown): TsbuildError {
  const depth = rel.split('/').length;
  return new TsbuildError(
    'TSB_LAYER_INVALID',
    `a path the stage left is too long to pack: /${rel.slice(0, 120)}… (${depth} levels, ${Buffer.byteLength(rel)}+ bytes)`,
    { hint: 'a path may have at most 4096 bytes (PATH_MAX) where layers are unpacked: make the step leave a shallower tree', cause },
  );
}

/**
 * Names of a directory being packed must be UTF-8 (what layers carry). Node decodes others with
 * U+FFFD, so a name that is not would be packed as another (and twice, next to a real "\uFFFD").
 * The listing is read again as bytes only when a name holds U+FFFD.
 */
export function checkUtf8Names(dir: string, rel: string, names: readonly string[]): void {
  if (!names.some((n) => n.includes('\uFFFD'))) return;
  for (const b of readdirSync(dir, { encoding: 'buffer' })) {
    if (Buffer.from(b.toString('utf8'), 'utf8').equals(b)) continue;
    const shown = JSON.stringify(rel === '' ? b.toString('utf8') : `${rel}/${b.toString('utf8')}`);
    throw new TsbuildError('TSB_LAYER_INVALID', `file name is not valid UTF-8: ${shown} (bytes ${b.toString('hex')})`, {
      hint: 'rename the file; layers carry UTF-8 names',
    });
  }
}
