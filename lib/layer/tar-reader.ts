// A push parser for tar streams: ustar, PAX ('x' local, 'g' global) and GNU long names ('L'/'K').
// Header-size, entry-count and byte caps are enforced while streaming, before anything is buffered,
// so PAX and size bombs fail early. Sparse files are refused rather than misread.
import { TsbuildError } from '../errors.js';
import { BLOCK, TypeFlag, decodePaxRecords, decodeRawHeader, invalid, isZeroBlock, parsePaxTime } from './tar-format.js';
import { padding, type TarEntry, type TarEntryType } from './tar-writer.js';

export interface TarReadLimits {
  /** Largest PAX header or GNU long name/link accepted (Go uses 1 MiB after CVE-2022-2879). */
  maxHeaderBytes: number;
  maxEntries: number;
  /** Largest regular file. */
  maxEntrySize: number;
  /** Largest uncompressed layer, counting everything including trailing padding. */
  maxTotalBytes: number;
}

export const DEFAULT_TAR_LIMITS: TarReadLimits = {
  maxHeaderBytes: 1 << 20,
  maxEntries: 5_000_000,
  maxEntrySize: 256 * 2 ** 30,
  maxTotalBytes: 1024 * 2 ** 30,
};

export interface TarReadHandler {
  /** A new entry; for files its content follows through `data` and then `endEntry`. */
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
  endEntry(): void;
  warning?(message: string): void;
}

type State = 'header' | 'meta' | 'data' | 'pad' | 'done';

export class TarParser {
  private state: State = 'header';
  private readonly hdr = Buffer.alloc(BLOCK);
  private hdrFill = 0;
  private remaining = 0; // bytes of data or padding or meta left in the current state
  private metaKind = 0;
  private meta: Buffer = Buffer.alloc(0);
  private metaFill = 0;
  private metaPad = 0;
  private pendingPax: Map<string, Buffer> | undefined;
  private readonly globalPax = new Map<string, Buffer>();
  /** Bytes of the keys and values globalPax holds: bounded like one header (each 'g' header adds to it). */
  private globalPaxBytes = 0;
  private longName: string | undefined;
  private longLink: string | undefined;
  private inEntry = false;
  private dataSize = 0;
  /** Bytes pushed so far. */
  offset = 0;
  entries = 0;
  /** True once the end-of-archive marker (a zero block) was seen. */
  ended = false;

  constructor(
    private readonly handler: TarReadHandler,
    private readonly limits: TarReadLimits = DEFAULT_TAR_LIMITS,
  ) {}

  push(chunk: Buffer): void {
    const start = this.offset;
    this.offset += chunk.length;
    if (this.offset > this.limits.maxTotalBytes) {
      throw new TsbuildError('TSB_TOO_LARGE', `layer expands to more than ${this.limits.maxTotalBytes} bytes (limit maxTotalBytes)`);
    }
    let pos = 0;
    while (pos < chunk.length) {
      switch (this.state) {
        case 'done':
          return; // trailing padding after the end marker: counted (for the diffId) but not parsed
        case 'header': {
          const n = Math.min(BLOCK - this.hdrFill, chunk.length - pos);
          chunk.copy(this.hdr, this.hdrFill, pos, pos + n);
          this.hdrFill += n;
          pos += n;
          if (this.hdrFill === BLOCK) {
            this.hdrFill = 0;
            this.onHeader(start + pos - BLOCK);
          }
          break;
        }
        case 'meta': {
          const n = Math.min(this.meta.length - this.metaFill, chunk.length - pos);
          chunk.copy(this.meta, this.metaFill, pos, pos + n);
          this.metaFill += n;
          pos += n;
          if (this.metaFill === this.meta.length) this.onMeta();
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, chunk.length - pos);
          if (n > 0) this.handler.data(chunk.subarray(pos, pos + n));
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.finishData();
          break;
        }
        case 'pad': {
          const n = Math.min(this.remaining, chunk.length - pos);
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) this.state = 'header';
          break;
        }
      }
    }
  }

  /** The input ended: it must not stop inside an entry. A missing end marker is tolerated (as GNU tar does). */
  end(): void {
    if (this.state === 'done' || (this.state === 'header' && this.hdrFill === 0)) {
      if (this.pendingPax || this.longName !== undefined || this.longLink !== undefined) throw invalid('archive ends after an extended header');
      return;
    }
    throw invalid(`archive is truncated (inside an entry at offset ${this.offset})`);
  }

  private onHeader(at: number): void {
    const block = this.hdr;
    if (isZeroBlock(block)) {
      this.ended = true;
      this.state = 'done';
      return;
    }
    const h = decodeRawHeader(block, at);
    const t = h.typeflag;
    if (t === TypeFlag.PaxLocal || t === TypeFlag.PaxGlobal || t === TypeFlag.GnuLongName || t === TypeFlag.GnuLongLink) {
      if (h.size > this.limits.maxHeaderBytes) {
        throw new TsbuildError(
          'TSB_TOO_LARGE',
          `invalid layer tar: extended header of ${h.size} bytes at offset ${at} exceeds the ${this.limits.maxHeaderBytes}-byte limit (maxHeaderBytes)`,
        );
      }
      this.metaKind = t;
      this.meta = Buffer.alloc(h.size);
      this.metaFill = 0;
      this.metaPad = padding(h.size);
      this.state = 'meta';
      if (h.size === 0) this.onMeta();
      return;
    }
    if (t === TypeFlag.GnuSparse) throw invalid(`sparse file "${h.name}" is not supported (GNU 'S' entry)`);
    const pax = this.pendingPax;
    this.pendingPax = undefined;
    const paxGet = (k: string): Buffer | undefined => pax?.get(k) ?? this.globalPax.get(k);
    if (pax) for (const k of pax.keys()) if (k.startsWith('GNU.sparse.')) throw invalid(`sparse file "${h.name}" is not supported (PAX GNU.sparse)`);

    let path = paxGet('path')?.toString('utf8') ?? this.longName ?? (h.prefix ? `${h.prefix}/${h.name}` : h.name);
    const linkname = paxGet('linkpath')?.toString('utf8') ?? this.longLink ?? h.linkname;
    this.longName = undefined;
    this.longLink = undefined;

    let type: TarEntryType | undefined;
    switch (t) {
      case TypeFlag.File:
      case TypeFlag.Contiguous:
        type = 'file';
        break;
      case TypeFlag.OldFile:
        type = path.endsWith('/') ? 'dir' : 'file';
        break;
      case TypeFlag.Link:
        type = 'link';
        break;
      case TypeFlag.Symlink:
        type = 'symlink';
        break;
      case TypeFlag.Char:
        type = 'char';
        break;
      case TypeFlag.Block:
        type = 'block';
        break;
      case TypeFlag.Dir:
        type = 'dir';
        break;
      case TypeFlag.Fifo:
        type = 'fifo';
        break;
      default:
        type = undefined;
    }
    let size = h.size;
    const paxSize = paxGet('size');
    if (paxSize) size = decimal(paxSize, 'size');
    if (type === undefined) {
      this.handler.warning?.(`skipping entry "${path}" of unsupported type '${String.fromCharCode(t)}'`);
      this.skip(size);
      return;
    }
    if (type !== 'file') size = 0; // header-only types carry no data (as Go's archive/tar reads them)
    if (type === 'file' && size > this.limits.maxEntrySize) {
      throw new TsbuildError('TSB_TOO_LARGE', `entry "${path}" is ${size} bytes, over the ${this.limits.maxEntrySize}-byte limit (maxEntrySize)`);
    }
    if (++this.entries > this.limits.maxEntries) {
      throw new TsbuildError('TSB_TOO_LARGE', `layer has more than ${this.limits.maxEntries} entries (limit maxEntries)`);
    }
    let mtimeSec = h.mtime;
    let mtimeNsec = 0;
    const paxMtime = paxGet('mtime');
    if (paxMtime) ({ sec: mtimeSec, nsec: mtimeNsec } = parsePaxTime(paxMtime.toString('latin1')));
    const xattrs: Array<[string, Buffer]> = [];
    if (pax) {
      for (const [k, v] of pax) {
        if (!k.startsWith('SCHILY.xattr.')) continue;
        // As Go's archive/tar (pax-nul-xattrs.tar): a NUL would cut the name short in the system call.
        if (k.includes('\0')) throw invalid(`xattr name with a NUL byte on "${path}"`);
        xattrs.push([k.slice('SCHILY.xattr.'.length), Buffer.from(v)]);
      }
    }
    if (type === 'dir' && path.endsWith('/')) path = path.replace(/\/+$/, '');
    const e: TarEntry = {
      path,
      type,
      mode: h.mode & 0o7777,
      uid: paxGet('uid') ? decimal(paxGet('uid')!, 'uid') : h.uid,
      gid: paxGet('gid') ? decimal(paxGet('gid')!, 'gid') : h.gid,
      size,
      mtimeSec,
      mtimeNsec,
    };
    if (type === 'link' || type === 'symlink') e.linkname = linkname;
    if (type === 'char' || type === 'block') {
      e.devmajor = h.devmajor;
      e.devminor = h.devminor;
    }
    if (xattrs.length > 0) e.xattrs = xattrs;
    this.inEntry = true;
    this.handler.entry(e);
    this.remaining = size;
    this.dataSize = size;
    this.state = 'data';
    if (size === 0) this.finishData();
  }

  private onMeta(): void {
    const data = this.meta;
    this.meta = Buffer.alloc(0);
    switch (this.metaKind) {
      case TypeFlag.PaxLocal:
        this.pendingPax = decodePaxRecords(data);
        break;
      case TypeFlag.PaxGlobal:
        for (const [k, v] of decodePaxRecords(data)) {
          if (k === 'comment') continue; // git archive stores the commit id here
          const old = this.globalPax.get(k);
          if (old !== undefined) this.globalPaxBytes -= k.length + old.length;
          if (v.length === 0) {
            this.globalPax.delete(k);
            continue;
          }
          // Global records outlive their header: without a cap, many 'g' headers with new keys would
          // each keep up to maxHeaderBytes alive (a PAX bomb that passes the per-header check).
          this.globalPaxBytes += k.length + v.length;
          if (this.globalPaxBytes > this.limits.maxHeaderBytes) {
            throw new TsbuildError(
              'TSB_TOO_LARGE',
              `invalid layer tar: global PAX headers hold more than ${this.limits.maxHeaderBytes} bytes of records (limit maxHeaderBytes)`,
            );
          }
          this.globalPax.set(k, Buffer.from(v)); // a copy: the record must not keep the whole header alive
        }
        break;
      case TypeFlag.GnuLongName:
        this.longName = cString(data);
        break;
      case TypeFlag.GnuLongLink:
        this.longLink = cString(data);
        break;
    }
    this.skipPadding(this.metaPad);
  }

  private finishData(): void {
    if (this.inEntry) {
      this.inEntry = false;
      this.handler.endEntry();
    }
    this.skipPadding(padding(this.dataSize));
  }

  private skip(size: number): void {
    // Unsupported entries: swallow content and padding.
    this.remaining = size + padding(size);
    this.state = this.remaining > 0 ? 'pad' : 'header';
  }

  private skipPadding(n: number): void {
    this.remaining = n;
    this.state = n > 0 ? 'pad' : 'header';
  }
}

function decimal(v: Buffer, what: string): number {
  const s = v.toString('latin1');
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw invalid(`malformed PAX ${what} "${s.slice(0, 40)}"`);
  return Number(s);
}

function cString(data: Buffer): string {
  const nul = data.indexOf(0);
  return data.toString('utf8', 0, nul < 0 ? data.length : nul);
}
