// Selecting files from a source image's root filesystem for `import:` — werf's mask semantics
// (relative to `add`), `add` itself resolved inside the source image like Docker's `COPY --from`
// (usrmerged `/bin/x` is `/usr/bin/x`), nothing below it followed — as tar entries placed under `to`,
// and a content checksum of exactly what is imported (DESIGN decision 7: identical output does not cascade).
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join, posix } from 'node:path';
import type { Stats } from 'node:fs';
import { PathMatcher } from '../git/index.js';
import { TsbuildError } from '../errors.js';
import type { LayerEntrySource, TarEntry } from '../layer/index.js';
import { resolveImagePath } from './image-path.js';

export interface ImportSelection {
  add: string;
  to: string;
  includePaths: string[];
  excludePaths: string[];
  /** Names the import in errors: `image "app", import of artifact "builder"`. */
  label?: string;
}

export interface SelectedFile {
  /** Path relative to `add` ('' for `add` itself). */
  rel: string;
  abs: string;
  st: Stats;
}

/** Walk the selection depth-first in name order; directories come before what they contain. */
async function* selectFiles(rootfs: string, sel: ImportSelection): AsyncGenerator<SelectedFile> {
  const resolved = await resolveImagePath(rootfs, sel.add, { followLast: true });
  if (resolved.kind === 'missing') {
    const via = resolved.path === (posix.normalize(`/${sel.add}`).replace(/\/+$/, '') || '/') ? '' : ` (it resolves to "${resolved.path}" there)`;
    throw new TsbuildError('TSB_CONFIG_SCHEMA', `${sel.label ?? 'import'}: "${sel.add}" does not exist in the source image${via}`, {
      hint: 'check `add:` against the files the source image really has (`tsbuild run` it and look)',
    });
  }
  const base = join(rootfs, resolved.path);
  const st = await lstat(base);
  if (!st.isDirectory()) {
    yield { rel: '', abs: base, st };
    return;
  }
  const basePath = sel.add.replace(/^\/+/, '');
  const matcher = new PathMatcher({ basePath, includePaths: sel.includePaths, excludePaths: sel.excludePaths });
  const repoPath = (rel: string): string => (basePath === '' ? rel : rel === '' ? basePath : `${basePath}/${rel}`);
  yield { rel: '', abs: base, st };
  async function* walk(relDir: string, whole: boolean): AsyncGenerator<SelectedFile> {
    const dirAbs = relDir === '' ? base : join(base, relDir);
    const names = (await readdir(dirAbs)).sort();
    for (const name of names) {
      const rel = relDir === '' ? name : `${relDir}/${name}`;
      const abs = join(dirAbs, name);
      const s = await lstat(abs);
      const matched = whole || matcher.isPathMatched(repoPath(rel));
      if (s.isDirectory()) {
        // A matched directory is taken whole only when no mask decides anything below it: with
        // `excludePaths: [front/node_modules]`, `front` matches but must be walked (it was taken
        // whole, so nested excludes were ignored).
        const through = !whole && matcher.shouldGoThrough(repoPath(rel));
        if (matched && !through) {
          yield { rel, abs, st: s };
          yield* walk(rel, true);
        } else if (through) {
          // A directory only on the way to something selected is emitted only with what it holds.
          const inner: SelectedFile[] = [];
          for await (const f of walk(rel, false)) inner.push(f);
          if (matched || inner.length > 0) {
            yield { rel, abs, st: s };
            yield* inner;
          }
        }
      } else if (matched) {
        yield { rel, abs, st: s };
      }
    }
  }
  yield* walk('', false);
}

function typeOf(st: Stats): TarEntry['type'] | undefined {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isFIFO()) return 'fifo';
  return undefined; // devices and sockets are not imported
}

export interface Ownership {
  uid?: number;
  gid?: number;
}

/** Tar entries for the selection, under `to` (a single-file `add` becomes `to` itself). */
export async function* importEntries(rootfs: string, sel: ImportSelection, own: Ownership): AsyncGenerator<LayerEntrySource> {
  const to = sel.to.replace(/^\/+/, '');
  for await (const f of selectFiles(rootfs, sel)) {
    const type = typeOf(f.st);
    if (!type) continue;
    const path = f.rel === '' ? to : posix.join(to, f.rel);
    if (path === '') continue; // `to: /` itself: the root directory is not an entry
    const entry: TarEntry = {
      path,
      type,
      mode: f.st.mode & 0o7777,
      uid: own.uid ?? f.st.uid,
      gid: own.gid ?? f.st.gid,
      size: type === 'file' ? f.st.size : 0,
      mtimeSec: Math.floor(f.st.mtimeMs / 1000),
      mtimeNsec: 0,
    };
    if (type === 'symlink') entry.linkname = await readlink(f.abs);
    const src: LayerEntrySource = { entry };
    if (type === 'file') src.content = () => createReadStream(f.abs, { highWaterMark: 1 << 20 });
    yield src;
  }
}

/** Content checksum of the selection: paths, types, modes, ids, link targets and file contents. */
export async function importChecksum(rootfs: string, sel: ImportSelection, own: Ownership): Promise<{ checksum: string; files: number }> {
  const h = createHash('sha256');
  let files = 0;
  for await (const src of importEntries(rootfs, sel, own)) {
    const e = src.entry;
    h.update(`${e.path}\0${e.type}\0${e.mode}\0${e.uid}\0${e.gid}\0${e.size}\0${e.linkname ?? ''}\0`);
    if (e.type === 'file' && typeof src.content === 'function') {
      const fh = createHash('sha256');
      for await (const c of src.content()) fh.update(c);
      h.update(fh.digest('hex'));
      files++;
    }
    h.update('\n');
  }
  return { checksum: h.digest('hex'), files };
}
