// Extended attributes of unpacked entries: set from the layer (never overlayfs markers), and, when a
// directory entry lands on an existing directory, the old ones cleared first — umoci gives a path
// exactly the xattrs its entry lists, as a directory in an overlay upper layer hides the lower one's.
import type { Fsx } from './fsx.js';
import type { TarEntry } from './tar-writer.js';

const OVERLAY_XATTR = /^(trusted|user)\.overlay\./;
/** Errors of setting one xattr that skip it with a warning rather than fail the unpack. */
const SKIPPABLE = new Set(['ENOTSUP', 'EPERM', 'EACCES', 'ENAMETOOLONG', 'ERANGE', 'E2BIG', 'EINVAL']);
/** Host-specific: never cleared (umoci's list), nor overlayfs's own markers. */
const KEEP_ON_CLEAR = new Set(['security.selinux', 'system.nfs4_acl']);

export class EntryXattrs {
  constructor(
    private readonly fx: Fsx,
    private readonly enabled: boolean,
    private readonly warnOnce: (key: string, message: string) => void,
  ) {}

  /** Set the entry's xattrs on `path`. */
  set(path: string, e: TarEntry): void {
    if (!e.xattrs || !this.enabled) return;
    for (const [name, value] of e.xattrs) {
      if (OVERLAY_XATTR.test(name)) {
        // A layer must never plant overlayfs markers (opaque, redirect) in a lowerdir.
        this.warnOnce(`ovl:${name}`, `dropped xattr ${name} of ${e.path}: overlayfs markers are not accepted from layers`);
        continue;
      }
      try {
        this.fx.lsetxattr(path, name, value);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENAMETOOLONG/ERANGE/E2BIG/EINVAL: a name or value no Linux file can carry (a 300-byte name).
        if (!SKIPPABLE.has(code ?? '')) throw err;
        this.warnOnce(`xattr:${name}`, `could not set xattr ${name.slice(0, 100)} on ${e.path} (${code}); it is skipped`);
      }
    }
  }

  /** Remove the xattrs of an existing directory that the entry now describing it does not list. */
  clear(path: string, e: TarEntry): void {
    if (!this.enabled) return;
    const listed = new Set((e.xattrs ?? []).map(([name]) => name));
    let names: string[];
    try {
      names = this.fx.llistxattr(path);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOTSUP') return;
      throw err;
    }
    for (const name of names) {
      if (listed.has(name) || KEEP_ON_CLEAR.has(name) || OVERLAY_XATTR.test(name)) continue;
      try {
        this.fx.lremovexattr(path, name);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ENOTSUP' && code !== 'EPERM' && code !== 'EACCES') throw err;
        this.warnOnce(`xattr-rm:${name}`, `could not remove xattr ${name} from ${e.path} (${code}); it is kept`);
      }
    }
  }
}
