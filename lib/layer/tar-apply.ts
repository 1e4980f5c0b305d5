// Applies parsed tar entries to a directory with synchronous fs calls (run in a worker).
// 'overlay' mode writes a fresh overlayfs lowerdir (whiteouts → char 0/0, opaque → xattr);
// 'apply' mode flattens onto an existing tree (whiteouts delete lower content).
// Spec rules followed: dir over dir merges, anything else is unlink-and-recreate; a whiteout hides
// only lower layers; an opaque marker applies regardless of its position; each dir is made opaque once.
import {
  chmodSync,
  closeSync,
  lstatSync,
  constants,
  fchmodSync,
  fchownSync,
  lchownSync,
  linkSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { Stats } from 'node:fs';
import { TsbuildError } from '../errors.js';
import { EntryXattrs } from './entry-xattrs.js';
import { fsx, type Fsx } from './fsx.js';
import { PendingDirs } from './pending-dirs.js';
import { checkEntryNumbers, nameTooLong } from './entry-limits.js';
import { InRootResolver, entryComponents, lstatOrUndefined, unsafe } from './layer-path.js';
import type { TarReadHandler } from './tar-reader.js';
import type { TarEntry } from './tar-writer.js';

export interface ApplyOptions {
  /** Absolute, symlink-free destination directory (it must exist). */
  root: string;
  mode: 'overlay' | 'apply';
  /** Not real root: device nodes are skipped with a warning, overlay markers use user.overlay.*. */
  rootless: boolean;
  /** lchown entries to their uid/gid (default: when running as uid 0). */
  chown: boolean;
  /** Set xattrs from the layer (default true). */
  xattrs: boolean;
  warning: (message: string) => void;
}

const WH = '.wh.';
function isWhiteoutDevice(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0;
}
const OPAQUE = '.wh..wh..opq';

export class LayerApplier implements TarReadHandler {
  private readonly fx: Fsx;
  private readonly xattrs: EntryXattrs;
  private readonly resolver: InRootResolver;
  /**
   * 'apply' mode: paths this layer wrote and all their ancestors (umoci's upperPaths). Whiteouts and
   * opaque markers remove only what is not in it, descending into what is, whatever the order.
   */
  private readonly touched = new Set<string>();
  /** Directories made opaque ('overlay' mode: marked; 'apply' mode: lower content removed): each once. */
  private readonly opaqued = new Set<string>();
  /** 'apply' mode: whiteouts done. A repeated one (or opaque marker) finds nothing lower left to remove. */
  private readonly whitedOut = new Set<string>();
  /** Paths the removals of whiteouts and opaque markers looked at: linear in the layer, however many markers repeat. */
  removalVisits = 0;
  /** Directory entries' metadata and kept times of written-into directories, set at the end. */
  private readonly dirs: PendingDirs;
  private fd = -1;
  private current: { path: string; entry: TarEntry } | undefined;
  private readonly warned = new Set<string>();
  /**
   * 'overlay' mode: directories made only because an entry lay below them (root-relative), and
   * hardlinks whose target is not in this layer. Such a layer dir equals applying the layer only
   * where the lower layers lack those directories (see runtime/overlay-fit.ts).
   */
  readonly implicitDirs = new Set<string>();
  /** 'overlay' mode: hardlinks to, and whiteouts in, paths this layer does not have (its parents' business). */
  dependsOnParents = 0;
  entries = 0;

  constructor(private readonly opts: ApplyOptions) {
    this.fx = fsx();
    this.dirs = new PendingDirs(this.fx);
    this.xattrs = new EntryXattrs(this.fx, opts.xattrs, (key, message) => this.warnOnce(key, message));
    this.resolver = new InRootResolver(opts.root, {
      onCreate: (p) => {
        // An explicit mode: mkdir's is cut by the process umask, and containerd/umoci make these 0755
        // (keeping the setgid bit a setgid parent passes on).
        chmodSync(p, 0o755 | (lstatSync(p).mode & 0o2000));
        if (opts.mode === 'overlay') this.implicitDirs.add(p.slice(opts.root.length + 1));
      },
      // In a lone layer dir, this layer's own whiteout on the way means "deleted, then recreated".
      ...(opts.mode === 'overlay' ? { onWhiteout: (p: string) => this.markOpaque(p) } : {}),
    });
  }

  warning(message: string): void {
    this.opts.warning(message);
  }

  entry(e: TarEntry): void {
    this.entries++;
    checkEntryNumbers(e);
    try {
      this.apply(e);
    } catch (err) {
      throw nameTooLong(err, e);
    }
  }

  private apply(e: TarEntry): void {
    const comps = entryComponents(e.path);
    const base = comps.pop();
    if (base === undefined) {
      // "./": containerd (and Docker, Podman) leave the root directory as the snapshot made it;
      // umoci would give it the entry's owner, mode and mtime. A stage sees what the container will.
      if (e.type !== 'dir') this.opts.warning(`ignoring ${e.type} entry "${e.path}" that names the root directory`);
      return;
    }
    if (base.startsWith(WH)) return this.whiteout(comps, base, e.path);
    const parent = this.resolve(comps, true);
    if (parent === undefined) return;
    this.keepTimes(parent);
    const target = `${parent}/${base}`;
    const existing = lstatOrUndefined(target);
    if (e.type === 'dir') {
      if (!existing?.isDirectory()) {
        if (existing) this.remove(target, existing.isDirectory());
        mkdirSync(target, 0o700);
        // A dir replacing this layer's own whiteout hides the lower one, as deleting and recreating
        // it does when applied.
        if (this.opts.mode === 'overlay' && existing && isWhiteoutDevice(existing)) this.markOpaque(target);
      } else this.xattrs.clear(target, e);
      if (this.opts.mode === 'overlay') this.implicitDirs.delete(target.slice(this.opts.root.length + 1));
      this.track(target);
      this.dirMetadata(target, e);
      return;
    }
    if (e.type === 'link') return this.hardlink(target, existing !== undefined, existing?.isDirectory() ?? false, e);
    if (existing) this.remove(target, existing.isDirectory());
    this.track(target);
    switch (e.type) {
      case 'file':
        this.fd = openSync(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
        this.current = { path: target, entry: e };
        return; // content follows; metadata in endEntry
      case 'symlink':
        if ((e.linkname ?? '').includes('\0')) throw unsafe(`symlink ${JSON.stringify(e.path)} has a NUL in its target`);
        symlinkSync(e.linkname ?? '', target);
        this.resolver.invalidate();
        this.owner(target, e);
        this.xattrs.set(target, e);
        this.fx.lutimes(target, e.mtimeSec, e.mtimeNsec, e.mtimeSec, e.mtimeNsec);
        return;
      case 'char':
      case 'block':
      case 'fifo': {
        if (e.type !== 'fifo' && this.opts.rootless) {
          this.opts.warning(`skipped device node ${e.path} (${e.devmajor}:${e.devminor}): device nodes cannot be created without root`);
          return;
        }
        const ifmt = e.type === 'char' ? constants.S_IFCHR : e.type === 'block' ? constants.S_IFBLK : constants.S_IFIFO;
        this.fx.mknod(target, ifmt | 0o600, e.devmajor ?? 0, e.devminor ?? 0);
        this.owner(target, e);
        chmodSync(target, e.mode);
        this.xattrs.set(target, e);
        this.fx.lutimes(target, e.mtimeSec, e.mtimeNsec, e.mtimeSec, e.mtimeNsec);
        return;
      }
    }
  }

  private dirMetadata(dir: string, e: TarEntry): void {
    this.owner(dir, e);
    // The mode now as well as at the end: directories made below inherit a setgid bit (and group)
    // the way they do when umoci or containerd apply the entry.
    chmodSync(dir, e.mode);
    this.xattrs.set(dir, e);
    this.dirs.describe(dir, e.mode, e.mtimeSec, e.mtimeNsec);
  }

  data(chunk: Buffer): void {
    if (this.fd < 0) return; // an entry left out ('overlay' mode)
    let off = 0;
    while (off < chunk.length) off += writeSync(this.fd, chunk, off, chunk.length - off);
  }

  endEntry(): void {
    const cur = this.current;
    if (!cur) return;
    this.current = undefined;
    const fd = this.fd;
    this.fd = -1;
    try {
      if (this.opts.chown) this.tryChown(() => fchownSync(fd, cur.entry.uid, cur.entry.gid), cur.entry);
      fchmodSync(fd, cur.entry.mode); // after chown, which clears setuid bits
    } finally {
      closeSync(fd);
    }
    this.xattrs.set(cur.path, cur.entry);
    this.fx.lutimes(cur.path, cur.entry.mtimeSec, cur.entry.mtimeNsec, cur.entry.mtimeSec, cur.entry.mtimeNsec);
  }

  /** After the last entry: directory metadata (see PendingDirs). */
  finish(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.dirs.apply();
  }

  /** Close a half-written file after an error. */
  abort(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private hardlink(target: string, exists: boolean, isDir: boolean, e: TarEntry): void {
    const linkComps = entryComponents(e.linkname ?? '');
    const linkBase = linkComps.pop();
    if (linkBase === undefined) throw unsafe(`hardlink ${JSON.stringify(e.path)} points at the root`);
    const linkParent = this.resolve(linkComps, false);
    const source = linkParent === undefined ? undefined : `${linkParent}/${linkBase}`;
    const st = source === undefined ? undefined : lstatOrUndefined(source);
    if (source === undefined || st === undefined) {
      if (this.opts.mode === 'overlay') {
        // Its target is in a lower layer: this layer dir alone cannot hold it (the snapshotter then
        // applies the layer onto its parents instead).
        this.dependsOnParents++;
        return;
      }
      throw new TsbuildError('TSB_LAYER_INVALID', `invalid layer tar: hardlink "${e.path}" points at "${e.linkname}", which does not exist in the layer root`);
    }
    if (st.isDirectory()) throw unsafe(`hardlink "${e.path}" points at a directory "${e.linkname}"`);
    if (source === target) return; // a link to itself: nothing to do
    if (exists) this.remove(target, isDir);
    // link(2) does not follow a symlink source: linking to a symlink makes another symlink, never
    // a link to what it points at.
    linkSync(source, target);
    this.track(target);
  }

  private whiteout(dirComps: string[], base: string, name: string): void {
    if (base === OPAQUE) return this.opaque(dirComps);
    const victim = base.slice(WH.length);
    if (victim === '' || victim === '.' || victim === '..' || victim.startsWith(WH)) {
      if (victim.startsWith(`${WH}`)) {
        this.opts.warning(`ignoring unknown whiteout meta entry ${JSON.stringify(name)}`);
        return;
      }
      throw unsafe(`whiteout ${JSON.stringify(name)} names "${victim}"`);
    }
    if (this.opts.mode === 'overlay') {
      const parent = this.resolve(dirComps, false);
      if (parent === undefined) {
        this.dependsOnParents++; // only the lower layers have its directory
        return;
      }
      const target = `${parent}/${victim}`;
      const st = lstatOrUndefined(target);
      if (st) {
        // Same-layer content survives its whiteout; a directory loses what the lower layers had in it.
        if (st.isDirectory()) this.markOpaque(target);
        return;
      }
      try {
        this.fx.mknod(target, constants.S_IFCHR, 0, 0);
      } catch (err) {
        throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `cannot create the overlay whiteout ${target}: ${(err as Error).message}`, {
          cause: err,
          hint: 'overlay whiteouts are 0/0 character devices; creating them needs root or a user namespace (Linux ≥ 5.8)',
        });
      }
      return;
    }
    const parent = this.resolver.resolveDir(dirComps, false);
    if (parent === undefined) return;
    const path = `${parent}/${victim}`;
    // Once per path: each repetition would walk again what this layer wrote there (containerd's
    // quadratic "repeated whiteouts" unpack, CVE-2026-95838).
    if (this.whitedOut.has(path)) return;
    this.whitedOut.add(path);
    this.keepTimes(parent);
    this.removeUntouched(path, false);
  }

  private opaque(dirComps: string[]): void {
    if (this.opts.mode === 'overlay') {
      const dir = this.resolve(dirComps, false);
      if (dir === undefined) this.dependsOnParents++;
      else this.markOpaque(dir);
      return;
    }
    const dir = this.resolver.resolveDir(dirComps, false);
    if (dir === undefined || this.opaqued.has(dir)) return;
    this.opaqued.add(dir);
    this.keepTimes(dir);
    this.removeUntouched(dir, true);
  }

  /** Remove `path` unless this layer touched it; descend into touched directories. */
  private removeUntouched(path: string, keepSelf: boolean): void {
    this.removalVisits++;
    const st = lstatOrUndefined(path);
    if (!st) return;
    if (!keepSelf && !this.touched.has(path)) {
      this.remove(path, st.isDirectory());
      return;
    }
    if (!st.isDirectory()) return;
    for (const name of readdirSync(path)) this.removeUntouched(`${path}/${name}`, false);
  }

  /**
   * The real directory for `comps`. In 'overlay' mode a path that only makes sense on top of the
   * parents (a file of this layer in the way, which the parents' symlink would have bypassed) leaves
   * the entry out and counts it: the snapshotter then applies the layer onto its parents instead.
   */
  private resolve(comps: string[], create: boolean): string | undefined {
    if (this.opts.mode !== 'overlay') return this.resolver.resolveDir(comps, create);
    try {
      return this.resolver.resolveDir(comps, create);
    } catch (err) {
      if (!(err instanceof TsbuildError) || err.code !== 'TSB_LAYER_INVALID') throw err;
      this.dependsOnParents++;
      return undefined;
    }
  }

  /** 'apply' mode: a directory's times are put back at the end (PendingDirs.keepTimes). */
  private keepTimes(dir: string): void {
    if (this.opts.mode === 'apply') this.dirs.keepTimes(dir);
  }

  private markOpaque(dir: string): void {
    if (this.opaqued.has(dir)) return;
    this.opaqued.add(dir);
    this.fx.lsetxattr(dir, this.opts.rootless ? 'user.overlay.opaque' : 'trusted.overlay.opaque', Buffer.from('y'));
  }

  /** Record a written path and its ancestors ('apply' mode). */
  private track(path: string): void {
    if (this.opts.mode !== 'apply') return;
    for (let p = path; p.length > this.opts.root.length && !this.touched.has(p); p = p.slice(0, p.lastIndexOf('/'))) this.touched.add(p);
  }

  private remove(path: string, isDir: boolean): void {
    if (isDir) rmSync(path, { recursive: true, force: true });
    else unlinkSync(path);
    this.resolver.invalidate();
    if (isDir) this.dirs.forget(path);
  }

  private owner(path: string, e: TarEntry): void {
    if (this.opts.chown) this.tryChown(() => lchownSync(path, e.uid, e.gid), e);
  }

  private tryChown(fn: () => void, e: TarEntry): void {
    try {
      fn();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!this.opts.rootless || (code !== 'EPERM' && code !== 'EINVAL')) throw err;
      this.warnOnce(
        `chown:${e.uid}:${e.gid}`,
        `cannot give ${e.path} owner ${e.uid}:${e.gid} (${code}); ids outside the user namespace's mapping stay unmapped`,
      );
    }
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.opts.warning(message);
  }
}
