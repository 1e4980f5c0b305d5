// Seeded random layer stacks for the differential applier test: symlinked directories at several
// depths (usrmerge among them), entries written through them, whiteouts of files, dirs and symlinks,
// opaque dirs, file↔dir↔symlink replacements, hardlinks across layers, long and unicode names, modes,
// owners, xattrs (files and directories) and sub-second mtimes; some stacks spell their names "./x"
// and describe the root directory ("./"), as `tar -C dir .` does. Every stack lives under its own top
// directory so many fit in one image. A small model of the applied tree only steers the generator
// towards valid stacks; the oracle is umoci.
import { createHash } from 'node:crypto';
import type { LayerEntrySource, TarEntry } from '../../lib/layer/index.js';

export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Node = { type: 'dir' } | { type: 'file' } | { type: 'symlink'; target: string };

const NAMES = [
  'a',
  'b',
  'etc',
  'usr',
  'bin',
  'lib',
  'opt',
  'x y',
  'ünïcødé',
  '日本語',
  'emoji😀',
  '.hidden',
  '-dash',
  `long${'n'.repeat(140)}`,
  `L${'ß'.repeat(60)}`,
];
const FILE_MODES = [0o644, 0o600, 0o755, 0o700, 0o444, 0o4755, 0o2755, 0o640];
const DIR_MODES = [0o755, 0o700, 0o750, 0o1777, 0o2775, 0o711];
const IDS = [0, 0, 0, 1, 1000, 65534, 123456];
const MAX_LINKS = 40;

/** The applied tree as the generator believes it is (containerd's rules, simplified). */
class Model {
  readonly nodes = new Map<string, Node>([['', { type: 'dir' }]]);
  /** Paths the layer being generated wrote, and their ancestors (whiteouts and opaque markers keep them). */
  created = new Set<string>();

  private touch(p: string): void {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) this.created.add(parts.slice(0, i).join('/'));
  }

  /** Remove what this layer did not touch, descending into what it did (umoci's whiteout walk). */
  private removeUntouched(p: string, keepSelf: boolean): void {
    const n = this.nodes.get(p);
    if (!n) return;
    if (!keepSelf && !this.created.has(p)) {
      for (const k of [...this.nodes.keys()]) if (k === p || k.startsWith(`${p}/`)) this.nodes.delete(k);
      return;
    }
    if (n.type !== 'dir') return;
    const prefix = p === '' ? '' : `${p}/`;
    for (const k of [...this.nodes.keys()]) if (k.startsWith(prefix) && k !== p && !k.slice(prefix.length).includes('/')) this.removeUntouched(k, false);
  }

  /** Resolve directory components inside the root; undefined when a component is a file. */
  resolveDir(comps: string[]): string[] | undefined {
    let stack: string[] = [];
    const queue = [...comps];
    let links = 0;
    while (queue.length > 0) {
      const c = queue.shift()!;
      if (c === '' || c === '.') continue;
      if (c === '..') {
        stack.pop();
        continue;
      }
      const p = [...stack, c].join('/');
      const n = this.nodes.get(p);
      if (!n || n.type === 'dir') stack.push(c);
      else if (n.type === 'symlink') {
        if (++links > MAX_LINKS) return undefined;
        if (n.target.startsWith('/')) stack = [];
        queue.unshift(...n.target.split('/'));
      } else return undefined;
    }
    return stack;
  }

  private removeTree(p: string): void {
    for (const k of [...this.nodes.keys()]) if (k === p || k.startsWith(`${p}/`)) this.nodes.delete(k);
  }

  private ensureDirs(stack: string[]): void {
    for (let i = 1; i <= stack.length; i++) {
      const p = stack.slice(0, i).join('/');
      if (!this.nodes.has(p)) this.nodes.set(p, { type: 'dir' });
    }
  }

  /** Apply one entry; false when an applier would refuse it (the generator then drops it). */
  apply(e: TarEntry): boolean {
    const comps = e.path.split('/');
    const base = comps.pop()!;
    if (base.startsWith('.wh.')) {
      const dir = this.resolveDir(comps);
      if (!dir) return false;
      if (base === '.wh..wh..opq') this.removeUntouched(dir.join('/'), true);
      else this.removeUntouched([...dir, base.slice(4)].join('/'), false);
      return true;
    }
    const dir = this.resolveDir(comps);
    if (!dir) return false;
    const p = [...dir, base].join('/');
    if (e.type === 'link') {
      const lc = (e.linkname ?? '').split('/');
      const lb = lc.pop()!;
      const ld = this.resolveDir(lc);
      if (!ld) return false;
      const src = this.nodes.get([...ld, lb].join('/'));
      if (!src || src.type === 'dir') return false;
      if ([...ld, lb].join('/') === p) return false;
    }
    this.ensureDirs(dir);
    const existing = this.nodes.get(p);
    if (e.type === 'dir' && existing?.type === 'dir') {
      this.touch(p);
      return true;
    }
    if (existing) this.removeTree(p);
    const node: Node = e.type === 'dir' ? { type: 'dir' } : e.type === 'symlink' ? { type: 'symlink', target: e.linkname ?? '' } : { type: 'file' };
    if (e.type === 'link') {
      const lc = (e.linkname ?? '').split('/');
      const lb = lc.pop()!;
      const src = this.nodes.get([...this.resolveDir(lc)!, lb].join('/'))!;
      this.nodes.set(p, src);
    } else this.nodes.set(p, node);
    this.touch(p);
    return true;
  }
}

export interface GeneratedStack {
  seed: number;
  top: string;
  /** Entries of each layer, in tar order. */
  layers: LayerEntrySource[][];
}

/** One stack of `layerCount` layers under the top directory `top`. */
export function randomStack(seed: number, top: string, layerCount: number): GeneratedStack {
  const rnd = prng(seed);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)]!;
  const chance = (p: number): boolean => rnd() < p;
  // Draws for what was added later (./ names, root entries, directory xattrs, nanoseconds) come from
  // a second stream, so the stacks the first one makes stay what they were for each seed.
  const more = prng(seed ^ 0x5bd1e995);
  const dotted = more() < 0.3;
  let dotLayer = false;
  const model = new Model();
  const layers: LayerEntrySource[][] = [];
  let current: LayerEntrySource[] = [];
  let counter = 0;

  const meta = (): Pick<TarEntry, 'uid' | 'gid' | 'mtimeSec' | 'mtimeNsec'> => ({
    uid: pick(IDS),
    gid: pick(IDS),
    mtimeSec: 1_600_000_000 + Math.floor(rnd() * 1e6),
    mtimeNsec: 0,
  });
  const emit = (entry: TarEntry, content?: Buffer): void => {
    if (!model.apply(entry)) return;
    if (more() < 0.1) entry.mtimeNsec = 1 + Math.floor(more() * 999_999_999);
    // The model knows plain names; the tar may say "./name" (and "./target" for a hardlink).
    const written = dotLayer ? { ...entry, path: `./${entry.path}`, ...(entry.type === 'link' ? { linkname: `./${entry.linkname}` } : {}) } : entry;
    current.push(content ? { entry: written, content } : { entry: written });
  };
  const dirXattrs = (): Pick<TarEntry, 'xattrs'> => (more() < 0.2 ? { xattrs: [['user.tsbuild-dir', Buffer.from(`d${Math.floor(more() * 1e6)}`)]] } : {});
  const dir = (path: string, mode = pick(DIR_MODES)): void => emit({ path, type: 'dir', mode, size: 0, ...meta(), ...dirXattrs() });
  /** A layer spelled the `tar -C dir .` way: "./" names, often with an entry for the root itself. */
  const startLayer = (): void => {
    current = [];
    dotLayer = dotted && more() < 0.7;
    if (dotLayer && more() < 0.6) {
      const ids = [0, 0, 1000, 65534];
      const pickMore = <T>(a: readonly T[]): T => a[Math.floor(more() * a.length)]!;
      current.push({
        entry: {
          path: '.',
          type: 'dir',
          mode: pickMore([0o755, 0o700, 0o750, 0o1777]),
          size: 0,
          uid: pickMore(ids),
          gid: pickMore(ids),
          mtimeSec: 1_600_000_000 + Math.floor(more() * 1e6),
          mtimeNsec: 0,
          ...dirXattrs(),
        },
      });
    }
  };
  /** An existing directory described again: new owner, mode, mtime and xattrs (or none). */
  const redescribe = (): void => {
    const dirs = existing((n, p) => n.type === 'dir' && p !== top);
    if (dirs.length === 0) return;
    const p = dirs[Math.floor(more() * dirs.length)]!;
    emit({
      path: p,
      type: 'dir',
      mode: DIR_MODES[Math.floor(more() * DIR_MODES.length)]!,
      size: 0,
      uid: IDS[Math.floor(more() * IDS.length)]!,
      gid: IDS[Math.floor(more() * IDS.length)]!,
      mtimeSec: 1_600_000_000 + Math.floor(more() * 1e6),
      mtimeNsec: 0,
      ...dirXattrs(),
    });
  };
  const file = (path: string): void => {
    const size = chance(0.2) ? 0 : Math.floor(rnd() * 3000);
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i++) content[i] = Math.floor(rnd() * 256);
    const entry: TarEntry = { path, type: 'file', mode: pick(FILE_MODES), size, ...meta() };
    if (chance(0.15)) entry.xattrs = [['user.tsbuild-test', Buffer.from(`v${counter++}`)]];
    emit(entry, content);
  };
  const symlink = (path: string, target: string): void => emit({ path, type: 'symlink', mode: 0o777, size: 0, linkname: target, ...meta() });
  const fresh = (): string => (chance(0.3) ? pick(NAMES) : `n${counter++}`) + (chance(0.2) ? `-${counter++}` : '');

  /** Existing paths (model keys) of a kind, under this stack's top. */
  const existing = (want: (n: Node, p: string) => boolean): string[] =>
    [...model.nodes.entries()].filter(([p, n]) => (p === top || p.startsWith(`${top}/`)) && want(n, p)).map(([p]) => p);
  /** A path naming a directory, often written through a symlink (the point of the test). */
  const dirAlias = (): string => {
    const viaLink = existing((n, p) => n.type === 'symlink' && model.resolveDir(p.split('/')) !== undefined);
    if (viaLink.length > 0 && chance(0.5)) {
      const l = pick(viaLink);
      const real = model.resolveDir(l.split('/'))!.join('/');
      const kids = existing((n, p) => n.type === 'dir' && p.startsWith(`${real}/`) && !p.slice(real.length + 1).includes('/'));
      return kids.length > 0 && chance(0.4) ? `${l}/${kids[0]!.slice(real.length + 1)}` : l;
    }
    const dirs = existing((n) => n.type === 'dir');
    return dirs.length > 0 ? pick(dirs) : top;
  };
  const symlinkTarget = (at: string): string => {
    const dirs = existing((n) => n.type === 'dir');
    const d = pick(dirs.length > 0 ? dirs : [top]);
    // Relative targets count from where the link really is (its parent may be written through a link).
    const from = model.resolveDir(at.split('/').slice(0, -1)) ?? at.split('/').slice(0, -1);
    switch (Math.floor(rnd() * 5)) {
      case 0:
        return `/${d}`; // absolute: resolved inside the root
      case 1: {
        // relative, climbing to the common ancestor
        const to = d.split('/');
        let i = 0;
        while (i < from.length && i < to.length && from[i] === to[i]) i++;
        return [...from.slice(i).map(() => '..'), ...to.slice(i)].join('/') || '.';
      }
      case 2:
        return `${'../'.repeat(from.length + 3)}${d}`; // climbs above the root: clamped
      case 3:
        return `missing-${counter++}/deeper`; // dangling: entries through it create the target
      default: {
        const files = existing((n) => n.type === 'file');
        return files.length > 0 ? `/${pick(files)}` : `/${d}`;
      }
    }
  };

  // Layer 0: the stack's top, some directories, often a usrmerged layout, symlinked dirs at depth.
  startLayer();
  dir(top, 0o755);
  for (let i = 0; i < 3 + Math.floor(rnd() * 4); i++) {
    const p = `${dirAlias()}/${fresh()}`;
    dir(p);
    if (chance(0.6)) file(`${p}/${fresh()}`);
  }
  if (chance(0.5)) {
    for (const d of ['usr', 'usr/bin', 'usr/lib', 'usr/sbin']) dir(`${top}/${d}`, 0o755);
    file(`${top}/usr/bin/sh`);
    file(`${top}/usr/lib/libc.so`);
    for (const d of ['bin', 'lib', 'sbin']) symlink(`${top}/${d}`, `usr/${d}`);
  }
  for (let i = 0; i < 2; i++) {
    const at = `${dirAlias()}/${fresh()}`;
    symlink(at, symlinkTarget(at));
  }
  layers.push(current);

  for (let l = 1; l < layerCount; l++) {
    startLayer();
    model.created = new Set();
    const ops = 3 + Math.floor(rnd() * 8);
    for (let o = 0; o < ops; o++) {
      const r = rnd();
      if (r < 0.25) {
        // A file, maybe with explicit (or implicit) new parents, often below a symlinked dir.
        let p = dirAlias();
        if (chance(0.3)) {
          p = `${p}/${fresh()}`;
          if (chance(0.5)) dir(p);
        }
        file(`${p}/${fresh()}`);
      } else if (r < 0.35) {
        dir(`${dirAlias()}/${fresh()}`);
      } else if (r < 0.45) {
        const at = `${dirAlias()}/${fresh()}`;
        symlink(at, symlinkTarget(at));
      } else if (r < 0.55) {
        // A hardlink to a file of a lower layer (or this one), named as the model knows it.
        const files = existing((n) => n.type === 'file');
        if (files.length > 0) emit({ path: `${dirAlias()}/${fresh()}`, type: 'link', mode: 0o644, size: 0, linkname: pick(files), ...meta() });
      } else if (r < 0.7) {
        // Whiteout of a file, dir or symlink, often through a symlinked parent.
        // (Only lower layers' paths: a whiteout never hides its own layer's content.)
        const victims = existing((_n, p) => p !== top && !model.created.has(p));
        if (victims.length > 0) {
          const v = pick(victims);
          const parts = v.split('/');
          const name = parts.pop()!;
          const parent = parts.join('/');
          const aliases = existing((n, p) => n.type === 'symlink' && model.resolveDir(p.split('/'))?.join('/') === parent);
          const via = aliases.length > 0 && chance(0.6) ? pick(aliases) : parent;
          emit({ path: `${via}/.wh.${name}`, type: 'file', mode: 0o644, size: 0, ...meta() });
        }
      } else if (r < 0.8) {
        // An opaque dir, with new content before or after its marker.
        const d = dirAlias();
        if (chance(0.5)) file(`${d}/${fresh()}`);
        emit({ path: `${d}/.wh..wh..opq`, type: 'file', mode: 0o644, size: 0, ...meta() });
        if (chance(0.5)) file(`${d}/${fresh()}`);
      } else {
        // Replace something with another kind: file↔dir↔symlink.
        const victims = existing((_n, p) => p !== top);
        if (victims.length === 0) continue;
        const v = pick(victims);
        const n = model.nodes.get(v)!;
        const kinds = ['file', 'dir', 'symlink'].filter((k) => k !== n.type);
        const k = pick(kinds);
        if (k === 'file') file(v);
        else if (k === 'dir') {
          dir(v);
          if (chance(0.5)) file(`${v}/${fresh()}`);
        } else symlink(v, symlinkTarget(v));
      }
    }
    if (more() < 0.3) redescribe();
    layers.push(current);
  }
  return { seed, top, layers };
}

/** Stable short digest of bytes (the listing compares contents by it). */
export function contentHash(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}
