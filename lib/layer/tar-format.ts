// The tar header block (POSIX ustar, PAX 'x'/'g', GNU 'L'/'K'): field layout, number encodings
// (octal and GNU base-256) and PAX records as bytes, so binary xattr values survive.
import { TsbuildError } from '../errors.js';

export const BLOCK = 512;

/** Type flags we read or write. */
export const TypeFlag = {
  File: 0x30, // '0'
  OldFile: 0x00, // '\0' (pre-POSIX regular file)
  Link: 0x31, // '1'
  Symlink: 0x32, // '2'
  Char: 0x33, // '3'
  Block: 0x34, // '4'
  Dir: 0x35, // '5'
  Fifo: 0x36, // '6'
  Contiguous: 0x37, // '7' (treated as a regular file)
  PaxLocal: 0x78, // 'x'
  PaxGlobal: 0x67, // 'g'
  GnuLongName: 0x4c, // 'L'
  GnuLongLink: 0x4b, // 'K'
  GnuSparse: 0x53, // 'S'
} as const;

/** One header block's raw fields; strings are written as UTF-8 bytes without validation. */
export interface RawHeader {
  name: string;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: number;
  typeflag: number;
  linkname: string;
  uname: string;
  gname: string;
  devmajor: number;
  devminor: number;
  prefix: string;
  /** 'ustar\0' + '00' (POSIX) unless told otherwise. */
  magic: 'posix' | 'gnu';
  /** Overwrite the computed checksum (tests of corrupt headers). */
  checksum?: number;
}

const MAX_OCTAL = (digits: number): number => 8 ** digits - 1;

export function fitsOctal(value: number, fieldLen: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= MAX_OCTAL(fieldLen - 1);
}

function writeString(block: Buffer, offset: number, len: number, value: string): void {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > len) throw new TsbuildError('TSB_INTERNAL', `tar field of ${len} bytes cannot hold "${value.slice(0, 60)}"`);
  bytes.copy(block, offset);
}

/** Octal (NUL-terminated) when it fits, GNU base-256 otherwise (readers of devices and huge ids accept it). */
function writeNumber(block: Buffer, offset: number, len: number, value: number): void {
  if (fitsOctal(value, len)) {
    block.write(value.toString(8).padStart(len - 1, '0'), offset, len - 1, 'ascii');
    block[offset + len - 1] = 0;
    return;
  }
  let v = BigInt(Math.trunc(value));
  const negative = v < 0n;
  for (let i = len - 1; i >= 1; i--) {
    block[offset + i] = Number(BigInt.asUintN(8, v));
    v >>= 8n;
  }
  block[offset] = negative ? 0xff : 0x80;
}

export function encodeRawHeader(h: Partial<RawHeader>): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, 0, 100, h.name ?? '');
  writeNumber(block, 100, 8, h.mode ?? 0);
  writeNumber(block, 108, 8, h.uid ?? 0);
  writeNumber(block, 116, 8, h.gid ?? 0);
  writeNumber(block, 124, 12, h.size ?? 0);
  writeNumber(block, 136, 12, h.mtime ?? 0);
  block[156] = h.typeflag ?? TypeFlag.File;
  writeString(block, 157, 100, h.linkname ?? '');
  if ((h.magic ?? 'posix') === 'posix') block.write('ustar\x0000', 257, 8, 'latin1');
  else block.write('ustar  \x00', 257, 8, 'latin1');
  writeString(block, 265, 32, h.uname ?? '');
  writeString(block, 297, 32, h.gname ?? '');
  writeNumber(block, 329, 8, h.devmajor ?? 0);
  writeNumber(block, 337, 8, h.devminor ?? 0);
  writeString(block, 345, 155, h.prefix ?? '');
  const sum = h.checksum ?? headerChecksum(block);
  block.write(sum.toString(8).padStart(6, '0'), 148, 6, 'ascii');
  block[154] = 0;
  block[155] = 0x20;
  return block;
}

/** Sum of the header bytes with the checksum field counted as spaces. */
function headerChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  return sum;
}

function signedChecksum(block: Buffer): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : (block[i]! << 24) >> 24;
  return sum;
}

function readString(block: Buffer, offset: number, len: number): string {
  let end = block.indexOf(0, offset);
  if (end < 0 || end > offset + len) end = offset + len;
  return block.toString('utf8', offset, end);
}

/** Octal (spaces and NULs around it allowed) or base-256; NaN when malformed. */
function parseNumber(block: Buffer, offset: number, len: number): number {
  const first = block[offset]!;
  if (first & 0x80) {
    const negative = first === 0xff;
    let v = BigInt(first & 0x7f) - (negative ? 0x80n : 0n);
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(block[offset + i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < -BigInt(Number.MAX_SAFE_INTEGER)) return Number.NaN;
    return Number(v);
  }
  let s = block.toString('latin1', offset, offset + len);
  const nul = s.indexOf('\0');
  if (nul >= 0) s = s.slice(0, nul);
  s = s.trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) return Number.NaN;
  return parseInt(s, 8);
}

export function isZeroBlock(block: Buffer): boolean {
  for (let i = 0; i < BLOCK; i++) if (block[i] !== 0) return false;
  return true;
}

export interface ParsedHeader extends Omit<RawHeader, 'magic' | 'checksum'> {
  magic: 'posix' | 'gnu' | 'v7';
}

/** Decode one header block; throws TSB_LAYER_INVALID on a bad checksum or malformed numbers. */
export function decodeRawHeader(block: Buffer, offsetInArchive: number): ParsedHeader {
  const stored = parseNumber(block, 148, 8);
  if (stored !== headerChecksum(block) && stored !== signedChecksum(block)) {
    throw invalid(`bad header checksum at offset ${offsetInArchive}`);
  }
  const magicField = block.toString('latin1', 257, 265);
  const magic = magicField === 'ustar\x0000' ? 'posix' : magicField === 'ustar  \x00' ? 'gnu' : 'v7';
  const h: ParsedHeader = {
    name: readString(block, 0, 100),
    mode: parseNumber(block, 100, 8),
    uid: parseNumber(block, 108, 8),
    gid: parseNumber(block, 116, 8),
    size: parseNumber(block, 124, 12),
    mtime: parseNumber(block, 136, 12),
    typeflag: block[156]!,
    linkname: readString(block, 157, 100),
    uname: magic === 'v7' ? '' : readString(block, 265, 32),
    gname: magic === 'v7' ? '' : readString(block, 297, 32),
    devmajor: magic === 'v7' ? 0 : parseNumber(block, 329, 8),
    devminor: magic === 'v7' ? 0 : parseNumber(block, 337, 8),
    prefix: magic === 'posix' ? readString(block, 345, 155) : '',
    magic,
  };
  for (const k of ['mode', 'uid', 'gid', 'size', 'mtime', 'devmajor', 'devminor'] as const) {
    if (Number.isNaN(h[k])) throw invalid(`malformed ${k} field in the header at offset ${offsetInArchive}`);
  }
  if (h.size < 0) throw invalid(`negative size in the header at offset ${offsetInArchive}`);
  return h;
}

/** PAX records "<len> <key>=<value>\n", sorted by key so output is reproducible. */
export function encodePaxRecords(records: Array<[string, Buffer | string]>): Buffer {
  const sorted = [...records].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const parts: Buffer[] = [];
  for (const [key, value] of sorted) {
    const v = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
    const body = Buffer.byteLength(key) + v.length + 3; // ' ' '=' '\n'
    let len = body + String(body).length;
    if (String(len).length !== String(body).length) len = body + String(len).length;
    parts.push(Buffer.from(`${len} ${key}=`, 'utf8'), v, Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Parse PAX records; values stay bytes. */
export function decodePaxRecords(data: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break; // some writers pad the block with NULs
    const space = data.indexOf(0x20, pos);
    if (space < 0 || space - pos > 20) throw invalid('malformed PAX record length');
    const len = Number(data.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > data.length || data[pos + len - 1] !== 0x0a) {
      throw invalid('malformed PAX record');
    }
    const eq = data.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= pos + len - 1) throw invalid('PAX record without "="');
    const key = data.toString('utf8', space + 1, eq);
    out.set(key, data.subarray(eq + 1, pos + len - 1));
    pos += len;
  }
  return out;
}

/** PAX time "[-]sec[.frac]" → seconds and nanoseconds (nanoseconds always ≥ 0). */
export function parsePaxTime(text: string): { sec: number; nsec: number } {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw invalid(`malformed PAX time "${text.slice(0, 40)}"`);
  const whole = Number(m[2]);
  const frac = Number(((m[3] ?? '') + '000000000').slice(0, 9));
  if (!Number.isSafeInteger(whole)) throw invalid(`PAX time out of range "${text.slice(0, 40)}"`);
  if (m[1] === '-') return frac === 0 ? { sec: -whole, nsec: 0 } : { sec: -whole - 1, nsec: 1_000_000_000 - frac };
  return { sec: whole, nsec: frac };
}

export function formatPaxTime(sec: number, nsec: number): string {
  if (nsec === 0) return String(sec);
  if (sec < 0) {
    // sec + nsec/1e9 with sec negative: -(|sec| - 1) - (1e9 - nsec)/1e9
    const whole = -(sec + 1);
    const frac = String(1_000_000_000 - nsec)
      .padStart(9, '0')
      .replace(/0+$/, '');
    return `-${whole}.${frac}`;
  }
  return `${sec}.${String(nsec).padStart(9, '0').replace(/0+$/, '')}`;
}

export function invalid(message: string): TsbuildError {
  return new TsbuildError('TSB_LAYER_INVALID', `invalid layer tar: ${message}`);
}
