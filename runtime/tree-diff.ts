// The native snapshotter's differ: walks a stage's root filesystem (a copy of its parent) against
// the parent and lists what a layer must carry — new and changed entries, `.wh.` whiteouts for
// deletions, `.wh..wh..opq` for directories that were removed and made again. Order and entry
// fields match the overlay export (names in byte order, whiteouts sorted by their layer names).
import { constants, lstatSync, readdirSync, readlinkSync, type BigIntStats } from 'node:fs';
import { TsbuildError } from '../lib/errors.js';
import { checkUtf8Names, fsx, layerMtime, treePathTooLong, type TarEntry } from '../lib/layer/index.js';

export interface TreeDiffOptions {
  /** The flattened parent root filesystem; undefined for a stage on no layers. */
  parent: string | undefined;
  work: string;
  /** In-image paths (no leading '/') left out with everything below them. */
  skip: Set<string>;
  /** Inode of every directory of `work` right after it was copied: another inode (or a birth time after the copy) = replaced. */
  dirInodes: Map<string, bigint>;
  /**
   * ctime (ns) after the copy was complete: an inode whose ctime is not later was not touched since,
   * so it still equals the parent's entry (the copy preserved its metadata and content).
   */
  copiedAtNs: bigint;
  sourceDateEpoch?: number;
}

export interface DiffItem {
  entry: TarEntry;
  /** Absolute path of a regular file's content. */
  source?: string;
}

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;
const WH = '.wh.';
const OPAQUE = '.wh..wh..opq';

interface Pending {
  entry: TarEntry;
  emitted: boolean;
}

export function diffTrees(o: TreeDiffOptions): DiffItem[] {
  const out: DiffItem[] = [];
  const fx = fsx();
  const links = new Map<string, string>();
  const pending: Pending[] = [];

  const emitAncestors = (): void => {
    for (const p of pending) {
      if (!p.emitted) {
        out.push({ entry: p.entry });
        p.emitted = true;
      }
    }
  };
  const marker = (path: string): TarEntry => ({ path, type: 'file', mode: 0, uid: 0, gid: 0, size: 0, mtimeSec: 0, mtimeNsec: 0 });

  const entryFor = (abs: string, rel: string, st: BigIntStats): DiffItem | undefined => {
    const [mtimeSec, mtimeNsec] = layerMtime(st.mtimeNs, o.sourceDateEpoch);
    const mode = Number(st.mode);
    const e: TarEntry = {
      path: rel,
      type: 'file',
      mode: mode & 0o7777,
      uid: Number(st.uid),
      gid: Number(st.gid),
      size: 0,
      mtimeSec,
      mtimeNsec,
    };
    const xattrs: Array<[string, Buffer]> = [];
    for (const name of fx.llistxattr(abs).sort()) {
      if (OVERLAY_XATTR.test(name)) continue;
      const v = fx.lgetxattr(abs, name);
      if (v !== undefined) xattrs.push([name, v]);
    }
    if (xattrs.length) e.xattrs = xattrs;
    switch (mode & constants.S_IFMT) {
      case constants.S_IFDIR:
        e.type = 'dir';
        return { entry: e };
      case constants.S_IFREG:
        if (st.nlink > 1n) {
          const key = `${st.dev}:${st.ino}`;
          const first = links.get(key);
          if (first !== undefined) {
            e.type = 'link';
            e.linkname = first;
            return { entry: e };
          }
          links.set(key, rel);
        }
        e.size = Number(st.size);
        return { entry: e, source: abs };
      case constants.S_IFLNK:
        e.type = 'symlink';
        e.linkname = readlinkSync(abs);
        return { entry: e };
      case constants.S_IFCHR:
      case constants.S_IFBLK: {
        e.type = (mode & constants.S_IFMT) === constants.S_IFCHR ? 'char' : 'block';
        const rdev = st.rdev;
        e.devmajor = Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn));
        e.devminor = Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn));
        return { entry: e };
      }
      case constants.S_IFIFO:
        e.type = 'fifo';
        return { entry: e };
      default:
        return undefined; // sockets: a layer cannot carry them
    }
  };

  /** Everything below a directory that is new (or replaced): no comparison. */
  const walkNew = (abs: string, rel: string, opaque: boolean): void => {
    const names = readdirSync(abs);
    checkUtf8Names(abs, rel, names);
    const keys: Array<{ name: string; key: string; opaque?: boolean }> = names.map((name) => ({ name, key: name }));
    if (opaque) keys.push({ name: OPAQUE, key: OPAQUE, opaque: true });
    for (const c of sortByKey(keys)) {
      const crel = join(rel, c.name);
      if (c.opaque) {
        out.push({ entry: marker(crel) });
        continue;
      }
      if (o.skip.has(crel)) continue;
      checkName(c.name, crel);
      const cabs = `${abs}/${c.name}`;
      const st = lstatIn(cabs, crel);
      const item = entryFor(cabs, crel, st);
      if (!item) continue;
      out.push(item);
      if (item.entry.type === 'dir') walkNew(cabs, crel, false);
    }
  };

  const walk = (workAbs: string, parentAbs: string | undefined, rel: string, dirSt: BigIntStats): void => {
    const workNames = readdirSync(workAbs);
    checkUtf8Names(workAbs, rel, workNames);
    const children: Array<{ name: string; key: string; deleted?: boolean }> = workNames.map((name) => ({ name, key: name }));
    // Entries can only have disappeared from a directory whose ctime moved (unlink/rename touch it).
    if (parentAbs !== undefined && dirSt.ctimeNs > o.copiedAtNs) {
      const present = new Set(workNames);
      for (const name of readdirSync(parentAbs)) {
        if (!present.has(name)) children.push({ name, key: `${WH}${name}`, deleted: true });
      }
    }
    for (const c of sortByKey(children)) {
      const crel = join(rel, c.name);
      if (o.skip.has(crel)) continue;
      if (c.deleted) {
        emitAncestors();
        out.push({ entry: marker(join(rel, c.key)) });
        continue;
      }
      checkName(c.name, crel);
      const cabs = `${workAbs}/${c.name}`;
      const st = lstatIn(cabs, crel);
      const isDir = (Number(st.mode) & constants.S_IFMT) === constants.S_IFDIR;
      const pabs = parentAbs === undefined ? undefined : `${parentAbs}/${c.name}`;
      if (st.ctimeNs <= o.copiedAtNs) {
        // Untouched since the copy; a directory's children may still have changed.
        if (isDir && pabs !== undefined) descend(cabs, pabs, crel, st, false);
        continue;
      }
      const pst = pabs === undefined ? undefined : lstatOrUndefined(pabs);
      const sameType = pst !== undefined && (Number(pst.mode) & constants.S_IFMT) === (Number(st.mode) & constants.S_IFMT);
      // Replaced: another inode, or (file systems reuse a freed inode number at once) born after the copy.
      const replaced = o.dirInodes.get(crel) !== st.ino || (st.birthtimeNs > 0n && st.birthtimeNs > o.copiedAtNs);
      if (isDir && sameType && !replaced) {
        descend(cabs, pabs!, crel, st, true);
        continue;
      }
      const item = entryFor(cabs, crel, st);
      if (!item) continue;
      emitAncestors();
      out.push(item);
      // A directory that is new, replaces a non-directory, or was removed and made again: all of it
      // is new; in the last case an opaque marker hides what the parent had there.
      if (isDir) walkNew(cabs, crel, sameType);
    }
  };

  const descend = (abs: string, pabs: string, rel: string, st: BigIntStats, changed: boolean): void => {
    const item = entryFor(abs, rel, st);
    if (!item) return;
    const p: Pending = { entry: item.entry, emitted: false };
    pending.push(p);
    if (changed) emitAncestors();
    walk(abs, pabs, rel, st);
    pending.pop();
  };

  const rootSt = lstatSync(o.work, { bigint: true });
  walk(o.work, o.parent, '', rootSt);
  return out;
}

function join(rel: string, name: string): string {
  return rel === '' ? name : `${rel}/${name}`;
}

function checkName(name: string, rel: string): void {
  if (name.startsWith(WH)) {
    throw new TsbuildError('TSB_LAYER_INVALID', `file ${rel} has a name reserved for OCI whiteouts`, {
      hint: 'remove or rename it; a layer entry named .wh.* deletes files when the image is unpacked',
    });
  }
}

function sortByKey<T extends { key: string }>(items: T[]): T[] {
  return items
    .map((i) => [i, Buffer.from(i.key, 'utf8')] as const)
    .sort((a, b) => Buffer.compare(a[1], b[1]))
    .map((k) => k[0]);
}

/** lstat of an entry of the tree; a path too long for the system is the stage's doing (treePathTooLong). */
function lstatIn(abs: string, rel: string): BigIntStats {
  try {
    return lstatSync(abs, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENAMETOOLONG') throw treePathTooLong(rel, err);
    throw err;
  }
}

function lstatOrUndefined(p: string): BigIntStats | undefined {
  try {
    return lstatSync(p, { bigint: true });
  } catch {
    return undefined;
  }
}
