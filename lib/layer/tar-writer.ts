// Writes tar entries as POSIX ustar headers, with a PAX 'x' header only when a value does not fit
// (long or non-ASCII names, ids > 2097151, sizes ≥ 8 GiB, sub-second or negative mtimes, xattrs).
// Fixed field choices (no atime/ctime, empty uname/gname, sorted PAX keys) keep output reproducible.
import { TsbuildError } from '../errors.js';
import { BLOCK, TypeFlag, encodePaxRecords, encodeRawHeader, fitsOctal, formatPaxTime } from './tar-format.js';

export type TarEntryType = 'file' | 'link' | 'symlink' | 'dir' | 'char' | 'block' | 'fifo';

export interface TarEntry {
  /** Path inside the layer, '/'-separated, no leading '/' or './', no trailing '/'. */
  path: string;
  type: TarEntryType;
  /** Permission bits including setuid/setgid/sticky (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Content length (regular files only; 0 otherwise). */
  size: number;
  mtimeSec: number;
  /** 0..999999999 */
  mtimeNsec: number;
  /** Target of a symlink (verbatim) or of a hardlink (a path inside the layer). */
  linkname?: string;
  devmajor?: number;
  devminor?: number;
  /** Extended attributes, written as SCHILY.xattr.<name> in name order. */
  xattrs?: Array<[string, Buffer]>;
}

const TYPEFLAG: Record<TarEntryType, number> = {
  file: TypeFlag.File,
  link: TypeFlag.Link,
  symlink: TypeFlag.Symlink,
  dir: TypeFlag.Dir,
  char: TypeFlag.Char,
  block: TypeFlag.Block,
  fifo: TypeFlag.Fifo,
};

// eslint-disable-next-line no-control-regex
const ASCII = /^[\x01-\x7f]*$/;

/** The header block(s) of an entry: an optional PAX header (+ its records, padded) and the ustar block. */
export function encodeEntryHeader(e: TarEntry): Buffer {
  if (e.path.includes('\0') || (e.linkname ?? '').includes('\0')) {
    throw new TsbuildError('TSB_LAYER_INVALID', `cannot write a tar entry whose name contains NUL: ${JSON.stringify(e.path)}`);
  }
  if (e.path === '' || e.path.startsWith('/')) throw new TsbuildError('TSB_INTERNAL', `bad tar entry path "${e.path}"`);
  const pax: Array<[string, Buffer | string]> = [];
  let name = e.type === 'dir' ? `${e.path}/` : e.path;
  if (Buffer.byteLength(name) > 100 || !ASCII.test(name)) {
    pax.push(['path', name]);
    name = asciiTail(name, 100);
  }
  let linkname = e.linkname ?? '';
  if (Buffer.byteLength(linkname) > 100 || !ASCII.test(linkname)) {
    pax.push(['linkpath', linkname]);
    linkname = asciiTail(linkname, 100);
  }
  let uid = e.uid;
  if (!fitsOctal(uid, 8)) {
    pax.push(['uid', String(uid)]);
    uid = 0;
  }
  let gid = e.gid;
  if (!fitsOctal(gid, 8)) {
    pax.push(['gid', String(gid)]);
    gid = 0;
  }
  const size = e.type === 'file' ? e.size : 0;
  let sizeField = size;
  if (!fitsOctal(size, 12)) {
    pax.push(['size', String(size)]);
    sizeField = 0;
  }
  let mtime = e.mtimeSec;
  if (e.mtimeNsec !== 0 || !fitsOctal(mtime, 12)) {
    pax.push(['mtime', formatPaxTime(e.mtimeSec, e.mtimeNsec)]);
    mtime = fitsOctal(mtime, 12) ? mtime : 0;
  }
  for (const [key, value] of e.xattrs ?? []) {
    if (key.includes('=') || key.includes('\0')) {
      throw new TsbuildError('TSB_LAYER_INVALID', `xattr name ${JSON.stringify(key)} of ${e.path} cannot be stored in a tar`);
    }
    pax.push([`SCHILY.xattr.${key}`, value]);
  }
  const header = encodeRawHeader({
    name,
    mode: e.mode & 0o7777,
    uid,
    gid,
    size: sizeField,
    mtime,
    typeflag: TYPEFLAG[e.type],
    linkname,
    devmajor: e.type === 'char' || e.type === 'block' ? (e.devmajor ?? 0) : 0,
    devminor: e.type === 'char' || e.type === 'block' ? (e.devminor ?? 0) : 0,
  });
  if (pax.length === 0) return header;
  const records = encodePaxRecords(pax);
  const paxHeader = encodeRawHeader({
    name: paxHeaderName(e.path),
    mode: 0o644,
    size: records.length,
    typeflag: TypeFlag.PaxLocal,
  });
  return Buffer.concat([paxHeader, records, Buffer.alloc(padding(records.length)), header]);
}

/** Bytes of zero padding after `size` bytes of content. */
export function padding(size: number): number {
  const rem = size % BLOCK;
  return rem === 0 ? 0 : BLOCK - rem;
}

/** The end-of-archive marker: two zero blocks. */
export const END_OF_ARCHIVE: Buffer = Buffer.alloc(2 * BLOCK);

/** Keep the informative end of a long name in the ustar field (readers use the PAX value). */
function asciiTail(s: string, max: number): string {
  // eslint-disable-next-line no-control-regex
  const ascii = s.replace(/[^\x01-\x7f]/g, '_');
  return ascii.length <= max ? ascii : ascii.slice(ascii.length - max);
}

function paxHeaderName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return asciiTail(`PaxHeaders.0/${base}`, 100);
}

/**
 * Collects an archive into fixed-size chunks (default 1 MiB) handed to `emit`; file content can be
 * read straight into the chunk (`reserve`) to avoid a copy. The last chunk may be shorter.
 */
export class TarChunker {
  private buf: Buffer;
  private pos = 0;
  /** Bytes of tar produced so far. */
  total = 0;

  constructor(
    private readonly emit: (chunk: Buffer) => void,
    private readonly chunkSize = 1 << 20,
    /** Memory to reuse for the next chunk (a consumer handing back chunks it is done with), if any. */
    private readonly reuse: () => ArrayBuffer | undefined = () => undefined,
  ) {
    this.buf = this.fresh();
  }

  private fresh(): Buffer {
    const ab = this.reuse();
    return ab && ab.byteLength === this.chunkSize ? Buffer.from(ab) : Buffer.allocUnsafeSlow(this.chunkSize);
  }

  write(data: Buffer): void {
    let off = 0;
    while (off < data.length) {
      const n = Math.min(data.length - off, this.chunkSize - this.pos);
      data.copy(this.buf, this.pos, off, off + n);
      this.pos += n;
      off += n;
      this.total += n;
      if (this.pos === this.chunkSize) this.flushChunk();
    }
  }

  writeZeros(n: number): void {
    while (n > 0) {
      const k = Math.min(n, this.chunkSize - this.pos);
      this.buf.fill(0, this.pos, this.pos + k);
      this.pos += k;
      this.total += k;
      n -= k;
      if (this.pos === this.chunkSize) this.flushChunk();
    }
  }

  /** Space to fill directly (at most `max` bytes); call `commit(n)` after filling n of them. */
  reserve(max: number): Buffer {
    return this.buf.subarray(this.pos, this.pos + Math.min(max, this.chunkSize - this.pos));
  }

  commit(n: number): void {
    this.pos += n;
    this.total += n;
    if (this.pos === this.chunkSize) this.flushChunk();
  }

  writeEntryHeader(e: TarEntry): void {
    this.write(encodeEntryHeader(e));
  }

  /** Write the end-of-archive marker and hand over what is left. */
  finish(): void {
    this.write(END_OF_ARCHIVE);
    if (this.pos > 0) this.flushChunk();
  }

  private flushChunk(): void {
    const out = this.buf.subarray(0, this.pos);
    this.buf = this.fresh();
    this.pos = 0;
    this.emit(out);
  }
}
