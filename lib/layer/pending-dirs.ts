// Directory metadata an unpack sets last: a directory's mode and mtime from its entry (writing
// into it afterwards would change the mtime), and the times of directories the layer wrote into
// without describing them, put back as they were — umoci restores a parent after each entry, so a
// directory keeps the mtime its own layer gave it rather than the time of the unpack.
import { chmodSync, lstatSync } from 'node:fs';
import type { Fsx } from './fsx.js';

interface DirMeta {
  path: string;
  mode: number;
  mtimeSec: number;
  mtimeNsec: number;
}

/** A directory's times before this layer changed what it holds (nanoseconds). */
interface Times {
  atimeNs: bigint;
  mtimeNs: bigint;
}

const NS = 1_000_000_000n;

export class PendingDirs {
  private readonly described = new Map<string, DirMeta>();
  private readonly kept = new Map<string, Times>();

  constructor(private readonly fx: Fsx) {}

  /** A directory entry: its mode and mtime are set at the end, after what it contains. */
  describe(path: string, mode: number, mtimeSec: number, mtimeNsec: number): void {
    this.described.delete(path); // re-inserted last: deeper entries come later in the map
    this.described.set(path, { path, mode, mtimeSec, mtimeNsec });
  }

  /**
   * Remember a directory's times before the first change the layer makes in it, unless the layer
   * describes it (its entry's mtime wins). One the layer made keeps the time it was made, as with umoci.
   */
  keepTimes(dir: string): void {
    if (this.kept.has(dir) || this.described.has(dir)) return;
    const st = lstatSync(dir, { bigint: true });
    this.kept.set(dir, { atimeNs: st.atimeNs, mtimeNs: st.mtimeNs });
  }

  /** A removed directory (and everything below it) gets nothing at the end. */
  forget(path: string): void {
    const prefix = `${path}/`;
    for (const map of [this.described, this.kept]) {
      if (map.size === 0) continue;
      map.delete(path);
      for (const p of map.keys()) if (p.startsWith(prefix)) map.delete(p);
    }
  }

  /** After the last entry: kept times back, then entries' modes and mtimes, deepest (latest) first. */
  apply(): void {
    for (const [path, t] of this.kept) {
      if (this.described.has(path)) continue;
      this.fx.lutimes(path, Number(t.atimeNs / NS), Number(t.atimeNs % NS), Number(t.mtimeNs / NS), Number(t.mtimeNs % NS));
    }
    const dirs = [...this.described.values()];
    for (let i = dirs.length - 1; i >= 0; i--) {
      const d = dirs[i]!;
      chmodSync(d.path, d.mode);
      this.fx.lutimes(d.path, d.mtimeSec, d.mtimeNsec, d.mtimeSec, d.mtimeNsec);
    }
  }
}
