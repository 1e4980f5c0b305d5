// Walks a directory with synchronous fs calls (run it in a worker) and writes it as a tar:
// depth-first, names in byte order, hardlinks by (dev, ino), xattrs through the fsx addon.
// In 'overlay-upper' mode overlayfs whiteouts and opaque dirs become OCI `.wh.` entries.
// With `inPlace`, the walk also makes the tree itself what unpacking the layer would give, so a
// snapshotter can keep the upper dir as the layer's lowerdir instead of unpacking the blob again.
import { closeSync, constants, lstatSync, openSync, readSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { TsbuildError } from '../errors.js';
import { fsx } from './fsx.js';
import { layerMtime } from './layer-mtime.js';
import { checkUtf8Names, treePathTooLong } from './entry-limits.js';
import { padding, type TarChunker, type TarEntry } from './tar-writer.js';

export interface TreeTarOptions {
  root: string;
  /** 'dir': the whole tree as is. 'overlay-upper': an overlayfs upper dir, whiteouts converted. */
  mode: 'dir' | 'overlay-upper';
  /** In-image absolute paths to leave out with everything below them (e.g. "/proc"). */
  skip?: string[];
  /** Clamp every mtime to at most this many seconds since the epoch (SOURCE_DATE_EPOCH). */
  sourceDateEpoch?: number;
  /** Keep xattrs (default true); overlay's own (trusted.overlay.*, user.overlay.*) are always dropped. */
  xattrs?: boolean;
  /** xattr name prefixes to drop in addition to the overlay ones. */
  excludeXattrPrefixes?: string[];
  /**
   * 'overlay-upper' mode: while walking, clamp mtimes in the tree itself (to what the layer records)
   * and remove overlayfs's bookkeeping xattrs (origin, impure, ...;
   * opaque markers stay), then report in TreeTarStats.matchesLayer whether the tree now holds what
   * unpacking the layer in overlay mode would make. The tree is modified: use it on an upper dir
   * whose snapshot is unmounted and committed, never on a tree still in use. The value names the
   * xattr namespace of the overlay mount the upper dir belongs to ('user' with userxattr), where an
   * unpack puts opaque markers.
   */
  inPlace?: 'trusted' | 'user';
}

export interface TreeTarStats {
  entries: number;
  whiteouts: number;
  /** Sockets and other file types a layer cannot carry. */
  skipped: number;
  /**
   * With `inPlace`: the tree (apart from `skippedPaths`) now holds exactly what unpacking the layer
   * in overlay mode makes: same entries, types, content, modes, owners, mtimes, xattrs, hardlinks,
   * whiteouts as 0/0 devices and opaque markers. False when something cannot be made so in place
   * (sockets, xattr-style whiteouts, xattrs left out by the options). Always false without `inPlace`.
   */
  matchesLayer: boolean;
  /** With `inPlace`: paths present in the tree that `skip` left out of the layer (root-relative). */
  skippedPaths: string[];
}

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;
const WHITEOUT_PREFIX = '.wh.';
const OPAQUE_MARKER = '.wh..wh..opq';

interface Child {
  name: string;
  /** What the entry is called in the layer (whiteouts: `.wh.<name>`); the sort key. */
  key: string;
  kind: 'plain' | 'whiteout' | 'opaque';
}

interface Frame {
  abs: string;
  rel: string;
  names: Child[];
  next: number;
}

export function writeTreeTar(opts: TreeTarOptions, out: TarChunker): TreeTarStats {
  const stats: TreeTarStats = { entries: 0, whiteouts: 0, skipped: 0, matchesLayer: false, skippedPaths: [] };
  const inPlace = opts.inPlace !== undefined && opts.mode === 'overlay-upper';
  const ownOpaque = `${opts.inPlace}.overlay.opaque`;
  let matches = inPlace;
  const skip = new Set((opts.skip ?? []).map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== ''));
  const useXattrs = opts.xattrs ?? true;
  const exclude = opts.excludeXattrPrefixes ?? [];
  const upper = opts.mode === 'overlay-upper';
  const links = new Map<string, string>();
  const fx = useXattrs || upper ? fsx() : undefined;
  const buf = Buffer.allocUnsafeSlow(1 << 20);

  const rootSt = lstatSync(opts.root);
  if (!rootSt.isDirectory()) throw new TsbuildError('TSB_LAYER_INVALID', `${opts.root} is not a directory`);
  const stack: Frame[] = [{ abs: opts.root, rel: '', names: sortedChildren(opts.root, '', upper, false, false), next: 0 }];

  const clamp = (st: BigIntStats): [number, number] => layerMtime(st.mtimeNs, opts.sourceDateEpoch);

  const marker = (path: string): TarEntry => ({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0 });

  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next >= frame.names.length) {
      stack.pop();
      continue;
    }
    const child = frame.names[frame.next++]!;
    const name = child.name;
    const rel = frame.rel === '' ? name : `${frame.rel}/${name}`;
    if (child.kind === 'opaque') {
      out.writeEntryHeader(marker(rel));
      stats.whiteouts++;
      stats.entries++;
      continue;
    }
    if (skip.has(rel)) {
      if (inPlace) stats.skippedPaths.push(rel);
      continue;
    }
    const abs = `${frame.abs}/${name}`;
    // A whiteout device (found by sortedChildren) becomes a marker: its own stat is not needed.
    const knownWhiteout = upper && child.kind === 'whiteout';
    let st: BigIntStats | undefined;
    if (!knownWhiteout) {
      try {
        st = lstatSync(abs, { bigint: true });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw treePathTooLong(rel, err);
        if ((err as NodeJS.ErrnoException).code === 'ENOENT' && name.includes('\uFFFD')) {
          throw new TsbuildError('TSB_LAYER_INVALID', `file name is not valid UTF-8: ${JSON.stringify(rel)}`, {
            hint: 'rename the file; layers carry UTF-8 names',
          });
        }
        throw err;
      }
    }

    let xattrs: Array<[string, Buffer]> | undefined;
    let opaque = false;
    let xattrWhiteouts = false;
    let xattrWhiteout = false;
    if (fx) {
      const names = fx.llistxattr(abs).sort();
      for (const x of names) {
        if (OVERLAY_XATTR.test(x)) {
          if (!upper) continue;
          const kind = x.slice(x.indexOf('.overlay.') + '.overlay.'.length);
          if (kind === 'opaque') {
            // 'y': opaque. 'x' (kernels ≥ 6.7): not opaque, but holds xattr whiteouts.
            const v = fx.lgetxattr(abs, x)?.toString('latin1');
            opaque ||= v === 'y';
            xattrWhiteouts ||= v === 'x';
            // An unpacked layer marks opaque dirs with 'y' only, in the mount's namespace ('x', holds xattr
            // whiteouts, it never makes; a marker in the other namespace is a stage's own xattr).
            if (v !== 'y' || x !== ownOpaque) matches = false;
          } else if (kind === 'whiteouts') {
            xattrWhiteouts = true;
            matches = false;
          } else if (kind === 'whiteout') {
            xattrWhiteout = true;
            matches = false;
          } else if (kind === 'redirect' || kind === 'metacopy') {
            throw new TsbuildError('TSB_LAYER_INVALID', `overlay upper dir entry ${rel} carries ${x}; cannot export it as a layer`, {
              hint: 'mount the overlay with redirect_dir=off,metacopy=off so the upper dir holds whole files and dirs',
            });
          } else if (inPlace) {
            // origin, impure, uuid, protattr...: overlay's notes about the copy-up, meaningless in a lowerdir.
            fx.lremovexattr(abs, x);
          }
          continue;
        }
        if (!useXattrs || exclude.some((p) => x.startsWith(p))) {
          matches = false;
          continue;
        }
        const value = fx.lgetxattr(abs, x);
        if (value !== undefined) {
          xattrs ??= [];
          xattrs.push([x, value]);
        }
      }
    }

    const mode = st ? Number(st.mode) : 0;
    const fmt = mode & constants.S_IFMT;
    // Whiteouts are char 0/0 devices, or (kernels ≥ 6.7, nested overlays) empty files marked overlay.whiteout.
    if (knownWhiteout || !st || (upper && fmt === constants.S_IFREG && xattrWhiteout)) {
      out.writeEntryHeader(marker(frame.rel === '' ? `${WHITEOUT_PREFIX}${name}` : `${frame.rel}/${WHITEOUT_PREFIX}${name}`));
      stats.whiteouts++;
      stats.entries++;
      continue;
    }
    if (name.startsWith(WHITEOUT_PREFIX)) {
      throw new TsbuildError('TSB_LAYER_INVALID', `file ${rel} has a name reserved for OCI whiteouts`, {
        hint: 'remove or rename it; a layer entry named .wh.* deletes files when the image is unpacked',
      });
    }
    const [mtimeSec, mtimeNsec] = clamp(st);
    if (inPlace && BigInt(mtimeSec) * 1_000_000_000n + BigInt(mtimeNsec) !== st.mtimeNs) {
      // Clamped (SOURCE_DATE_EPOCH). A dir's own times do not change when its children's do, so the
      // order of the walk does not matter. (atime is left as it is: no layer carries it, and reading
      // a file moves it anyway.)
      fx!.lutimes(abs, mtimeSec, mtimeNsec, mtimeSec, mtimeNsec);
    }
    const entry: TarEntry = {
      path: rel,
      type: 'file',
      mode: mode & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtimeSec,
      mtimeNsec,
    };
    if (xattrs) entry.xattrs = xattrs;
    switch (fmt) {
      case constants.S_IFDIR:
        entry.type = 'dir';
        out.writeEntryHeader(entry);
        stats.entries++;
        stack.push({ abs, rel, names: sortedChildren(abs, rel, upper, opaque, xattrWhiteouts), next: 0 });
        continue;
      case constants.S_IFREG: {
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            entry.type = 'link';
            entry.linkname = first;
            out.writeEntryHeader(entry);
            stats.entries++;
            continue;
          }
          links.set(key, rel);
        }
        entry.size = Number(st.size);
        out.writeEntryHeader(entry);
        copyFile(abs, rel, entry.size, out, buf);
        out.writeZeros(padding(entry.size));
        stats.entries++;
        continue;
      }
      case constants.S_IFLNK:
        entry.type = 'symlink';
        entry.linkname = readlinkSync(abs);
        break;
      case constants.S_IFCHR:
      case constants.S_IFBLK: {
        entry.type = fmt === constants.S_IFCHR ? 'char' : 'block';
        const rdev = st.rdev;
        entry.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        entry.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        break;
      }
      case constants.S_IFIFO:
        entry.type = 'fifo';
        break;
      default:
        stats.skipped++; // sockets: containerd and moby leave them out too
        matches = false;
        continue;
    }
    out.writeEntryHeader(entry);
    stats.entries++;
  }
  stats.matchesLayer = matches;
  return stats;
}

/**
 * Children in byte order of their names *in the layer*, so the tar is sorted by path: in an upper
 * dir a whiteout `x` sorts as `.wh.x`, and an opaque dir gets a virtual `.wh..wh..opq` child.
 */
function sortedChildren(dir: string, rel: string, upper: boolean, opaque: boolean, xattrWhiteouts: boolean): Child[] {
  const children: Child[] = [];
  const dirents = readdirSync(dir, { withFileTypes: true });
  checkUtf8Names(
    dir,
    rel,
    dirents.map((d) => d.name),
  );
  for (const d of dirents) {
    let kind: Child['kind'] = 'plain';
    if (upper) {
      if (d.isCharacterDevice() && lstatSync(`${dir}/${d.name}`).rdev === 0) kind = 'whiteout';
      else if (xattrWhiteouts && d.isFile()) {
        const fx = fsx();
        const p = `${dir}/${d.name}`;
        if (fx.lgetxattr(p, 'trusted.overlay.whiteout') !== undefined || fx.lgetxattr(p, 'user.overlay.whiteout') !== undefined) kind = 'whiteout';
      }
    }
    children.push({ name: d.name, key: kind === 'whiteout' ? `${WHITEOUT_PREFIX}${d.name}` : d.name, kind });
  }
  if (opaque) children.push({ name: OPAQUE_MARKER, key: OPAQUE_MARKER, kind: 'opaque' });
  // Byte order of the UTF-8 names. Without surrogates (characters beyond U+FFFF) UTF-16 order is
  // code point order, which is UTF-8 byte order: strings compare as they are, no Buffer per name.
  if (!children.some((c) => SURROGATE.test(c.key))) return children.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const keyed = children.map((c) => [c, Buffer.from(c.key, 'utf8')] as const);
  keyed.sort((a, b) => Buffer.compare(a[1], b[1]));
  return keyed.map((k) => k[0]);
}

const SURROGATE = /[\uD800-\uDFFF]/;

function copyFile(abs: string, rel: string, size: number, out: TarChunker, buf: Buffer): void {
  const fd = openSync(abs, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    let left = size;
    while (left > 0) {
      const target = out.reserve(left);
      // Read into the tar chunk directly when there is room; otherwise through the scratch buffer.
      const dst = target.length >= 64 * 1024 || target.length === left ? target : buf.subarray(0, Math.min(left, buf.length));
      const n = readSync(fd, dst, 0, dst.length, null);
      if (n === 0) {
        throw new TsbuildError('TSB_LAYER_INVALID', `${rel} shrank while it was being archived (expected ${size} bytes)`, {
          hint: 'make sure nothing writes to the tree while the layer is created',
        });
      }
      if (dst === target) out.commit(n);
      else out.write(dst.subarray(0, n));
      left -= n;
    }
  } finally {
    closeSync(fd);
  }
}
