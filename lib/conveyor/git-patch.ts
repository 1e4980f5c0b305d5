// Git content as layer entries: the full archive of every mapping (gitArchive) or the changes since
// the commits a stage was built from (DESIGN decision 1: changed files of the target commit plus
// whiteouts for removed paths — no `git apply`, so nothing a user command did can make it fail).
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { join, posix } from 'node:path';
import { rmdir } from 'node:fs/promises';
import { inspectPath } from './run-in-stage.js';
import { resolveImagePath } from './image-path.js';
import { archiveEntries, changedPaths, patchSize, type ArchiveEntry } from '../git/index.js';
import { END_OF_ARCHIVE, encodeEntryHeader, padding, unpackLayer, type LayerEntrySource, type TarEntry } from '../layer/index.js';
import type { GitCommits, GitSource } from './git-sources.js';
import { resolveGroup, resolveUser } from './image-users.js';

/** Numeric ids for owner/group names used by mappings, resolved in the image being built. */
export type OwnerResolver = (entry: ArchiveEntry) => Promise<{ uid: number; gid: number }>;

export function ownerResolver(rootfs: string | undefined): OwnerResolver {
  const cache = new Map<string, Promise<{ uid: number; gid: number }>>();
  return (e) => {
    if (e.uname === undefined && e.gname === undefined) return Promise.resolve({ uid: e.uid ?? 0, gid: e.gid ?? 0 });
    const key = `${e.uname ?? e.uid}:${e.gname ?? e.gid ?? ''}`;
    let p = cache.get(key);
    if (!p) {
      p = (async () => {
        if (rootfs === undefined) throw new Error('owner names need the image root filesystem');
        const user = e.uname !== undefined ? await resolveUser(rootfs, e.uname) : { uid: e.uid ?? 0, gid: e.gid ?? 0 };
        const gid = e.gname !== undefined ? await resolveGroup(rootfs, e.gname) : (e.gid ?? user.gid);
        return { uid: user.uid, gid };
      })();
      cache.set(key, p);
    }
    return p;
  };
}

async function toLayerEntry(e: ArchiveEntry, owners: OwnerResolver): Promise<LayerEntrySource> {
  const { uid, gid } = await owners(e);
  const entry: TarEntry = {
    path: e.path.replace(/^\/+/, ''),
    type: e.type,
    mode: e.mode,
    uid,
    gid,
    size: e.type === 'file' ? e.size : 0,
    mtimeSec: e.mtime,
    mtimeNsec: 0,
  };
  if (e.linkTarget !== undefined) entry.linkname = e.linkTarget;
  const src: LayerEntrySource = { entry };
  if (e.type === 'file' && e.data) {
    const data = e.data;
    src.content = async function* () {
      const d = await data();
      if (Buffer.isBuffer(d)) yield d;
      else for await (const c of d as Readable) yield c as Uint8Array;
    };
  }
  return src;
}

function whiteout(path: string, mtime: number): LayerEntrySource {
  const rel = path.replace(/^\/+/, '');
  const dir = posix.dirname(rel);
  const name = `.wh.${posix.basename(rel)}`;
  return { entry: { path: dir === '.' ? name : `${dir}/${name}`, type: 'file', mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: mtime, mtimeNsec: 0 } };
}

/**
 * gitArchive: every mapping's files at its commit (the mapping's `to` parents are created by
 * extraction). With the target image's root, `to` is resolved inside it first: entries are placed
 * where its symlinks point (a directory mapping goes into what `to` points at).
 */
export async function* archiveLayerEntries(sources: GitSource[], owners: OwnerResolver, targetRoot?: string): AsyncGenerator<LayerEntrySource> {
  for (const s of sources) {
    const to = posix.normalize(`/${s.spec.to}`).replace(/\/+$/, '') || '/';
    let placed: string | undefined;
    for await (const e of archiveEntries(s.repo, s.commit, s.spec)) {
      if (e.path === '/') continue;
      if (targetRoot !== undefined && to !== '/') {
        placed ??= (await resolveImagePath(targetRoot, to, { followLast: e.path === to && e.type === 'dir' })).path;
        if (e.path === to) e.path = placed;
        else if (e.path.startsWith(`${to}/`)) e.path = `${placed}${e.path.slice(to.length)}`;
      }
      yield toLayerEntry(e, owners);
    }
  }
}

/** Whether anything a mapping selects changed since `from` (the commits the parent was built from). */
function pendingSources(sources: GitSource[], from: GitCommits | undefined): GitSource[] {
  return sources.filter((s) => from?.[s.id] !== undefined && from[s.id] !== s.commit);
}

/** The changes of every mapping since `from`: whiteouts for removed paths, then changed entries. */
async function* changeLayerEntries(
  sources: GitSource[],
  from: GitCommits,
  owners: OwnerResolver,
  onRemoved: (path: string, source: GitSource) => void,
): AsyncGenerator<LayerEntrySource> {
  for (const s of pendingSources(sources, from)) {
    const changes = await changedPaths(s.repo, from[s.id]!, s.commit, s.spec);
    const mtime = (await s.repo.commitInfo(s.commit)).unixSeconds;
    for (const p of changes.removed) {
      onRemoved(p, s);
      yield whiteout(p, mtime);
    }
    for (const e of changes.changed) yield toLayerEntry(e, owners);
  }
}

/** A digest-like id of the changes since `from` (gitLatestPatch's input): same effective diff, same id. */
export async function changesId(sources: GitSource[], from: GitCommits): Promise<{ id: string; empty: boolean }> {
  const h = createHash('sha256');
  let empty = true;
  for (const s of pendingSources(sources, from)) {
    const changes = await changedPaths(s.repo, from[s.id]!, s.commit, s.spec);
    for (const p of changes.removed) {
      h.update(`- ${p}\n`);
      empty = false;
    }
    for (const e of changes.changed) {
      h.update(`+ ${e.path} ${e.type} ${e.mode.toString(8)} ${e.oid ?? ''} ${e.linkTarget ?? ''}\n`);
      empty = false;
    }
  }
  return { id: h.digest('hex'), empty };
}

/** Total size of the changes since `from` (gitCache's 1 MiB rule). */
export async function pendingPatchSize(sources: GitSource[], from: GitCommits): Promise<number> {
  let total = 0;
  for (const s of pendingSources(sources, from)) total += await patchSize(s.repo, from[s.id]!, s.commit, s.spec);
  return total;
}

/** Serialise entries as an uncompressed tar stream. */
function tarStream(entries: AsyncIterable<LayerEntrySource>): Readable {
  return Readable.from(
    (async function* () {
      for await (const src of entries) {
        yield encodeEntryHeader(src.entry);
        if (src.entry.type === 'file' && src.content) {
          if (Buffer.isBuffer(src.content)) yield src.content;
          else for await (const c of src.content()) yield Buffer.from(c.buffer, c.byteOffset, c.byteLength);
          if (padding(src.entry.size) > 0) yield Buffer.alloc(padding(src.entry.size));
        }
      }
      yield END_OF_ARCHIVE;
    })(),
  );
}

/**
 * Bring a mounted root filesystem from `from` to the current commits: extract changed files, delete
 * removed ones, then remove directories that became empty, up to the mapping's `to` (as werf does).
 */
export async function applyChanges(rootfs: string, sources: GitSource[], from: GitCommits, signal?: AbortSignal): Promise<void> {
  if (pendingSources(sources, from).length === 0) return;
  const removed: Array<{ path: string; to: string }> = [];
  const entries = changeLayerEntries(sources, from, ownerResolver(rootfs), (path, s) => removed.push({ path, to: s.spec.to }));
  await unpackLayer(tarStream(entries), rootfs, { mode: 'apply', compression: 'none', signal });
  await pruneEmptyParents(rootfs, removed);
}

/** rmdir each removed path's parents while empty, never above `to`, never through a symlink. */
async function pruneEmptyParents(rootfs: string, removed: Array<{ path: string; to: string }>): Promise<void> {
  const dirs = new Set<string>();
  for (const { path, to } of removed) {
    const stop = posix.normalize(to);
    for (let d = posix.dirname(path); d.length > stop.length && d.startsWith(`${stop}/`); d = posix.dirname(d)) dirs.add(d);
  }
  for (const d of [...dirs].sort((a, b) => b.length - a.length)) {
    if ((await inspectPath(rootfs, d)) !== 'dir') continue;
    await rmdir(join(rootfs, d)).catch(() => undefined);
  }
}
