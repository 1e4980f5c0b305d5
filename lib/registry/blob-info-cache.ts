// Where each blob was last seen (registry, repository), kept across runs in the tsbuild home, so a
// push can mount a blob from another repository of the same registry instead of uploading it again —
// what containers/image's blob-info cache does for skopeo and buildah (pkg/blobinfocache).
//
// The file is read once per process and written by merging: under a cross-process lock the current
// file is re-read, this process's new sightings are added, old entries are pruned, and the result
// replaces the file atomically. Concurrent processes therefore never lose each other's entries and a
// reader never sees a torn file. A damaged or unreadable cache is treated as empty: it is only a hint.
import { readFile } from 'node:fs/promises';
import { isDigest, type Digest } from '../digest.js';
import { atomicWriteFile } from '../internal/atomic-write.js';
import { withFileLock } from '../internal/file-lock.js';
import type { RepositoryRef } from './transfer-types.js';

const FORMAT = 'tsbuild.blob-info-cache/1';
/** A sighting younger than this is not written again. */
const FRESH_MS = 60 * 60 * 1000;

/** digest -> registry -> repository -> last seen (ms since the epoch). */
type Sightings = Map<string, Map<string, Map<string, number>>>;

/** One observation: seen at `at`, or (forget) found missing at `at`. */
interface Sighting {
  digest: Digest;
  loc: RepositoryRef;
  at: number;
  forget: boolean;
}

interface CacheFile {
  v: string;
  blobs: Record<string, Record<string, Record<string, number>>>;
}

export interface BlobInfoCacheOptions {
  /** Most blobs remembered (least recently seen dropped first). Default 20 000 (a ~3 MB file). */
  maxBlobs?: number;
  /** Most repositories remembered per blob and registry. Default 16. */
  maxRepositories?: number;
}

export class BlobInfoCache {
  private sightings: Sightings = new Map();
  /** Sightings (and forgettings) of this process not yet written; replayed onto the file's content. */
  private pending: Sighting[] = [];
  private loaded: Promise<void> | undefined;
  /** Whether `sightings` holds the file's content (then a fresh sighting need not be written). */
  private loadedFile = false;
  private saving: Promise<void> = Promise.resolve();
  private readonly maxBlobs: number;
  private readonly maxRepositories: number;

  /** `file` undefined: remembered for this process only. */
  constructor(
    readonly file: string | undefined,
    options: BlobInfoCacheOptions = {},
  ) {
    this.maxBlobs = options.maxBlobs ?? 20_000;
    this.maxRepositories = options.maxRepositories ?? 16;
  }

  /** The blob is in this repository (pulled from, pushed or mounted to, or found there). */
  record(digest: Digest, loc: RepositoryRef): void {
    const at = Date.now();
    // Seen there lately (per the file, once read): nothing new to write. A pull of a known image
    // or a push of mounted blobs then leaves the file alone.
    const known = this.loadedFile ? this.sightings.get(digest)?.get(loc.registry)?.get(loc.repository) : undefined;
    if (known !== undefined && at - known < FRESH_MS) return;
    this.observe({ digest, loc: { registry: loc.registry, repository: loc.repository }, at, forget: false });
  }

  /** The blob is not (or no longer) in this repository: a mount from it failed. */
  forget(digest: Digest, loc: RepositoryRef): void {
    this.observe({ digest, loc: { registry: loc.registry, repository: loc.repository }, at: Date.now(), forget: true });
  }

  private observe(o: Sighting): void {
    apply(this.sightings, o);
    this.pending.push(o);
  }

  /** Repositories of `registry` known to hold the blob, most recently seen first. */
  async candidates(digest: Digest, registry: string): Promise<string[]> {
    await this.load();
    const repos = this.sightings.get(digest)?.get(registry);
    if (!repos) return [];
    return [...repos].sort((a, b) => b[1] - a[1]).map(([repo]) => repo);
  }

  /** Write this process's sightings into the file (merged with what others wrote). Never throws. */
  save(): Promise<void> {
    const next = this.saving.then(() => this.saveNow()).catch(() => undefined);
    this.saving = next;
    return next;
  }

  /** Read the file now (it is read on first use otherwise); never rejects. */
  preload(): Promise<void> {
    return this.load();
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (!this.file) return;
      const fromDisk = await readCacheFile(this.file);
      // Sightings recorded before the load finished are newer than the file's.
      for (const p of this.pending) apply(fromDisk, p);
      this.sightings = fromDisk;
      this.loadedFile = true;
    })();
    return this.loaded;
  }

  private async saveNow(): Promise<void> {
    if (!this.file || this.pending.length === 0) return;
    const file = this.file;
    const pending = this.pending;
    this.pending = [];
    try {
      await withFileLock(
        `${file}.lock`,
        async () => {
          const merged = await readCacheFile(file);
          for (const p of pending) apply(merged, p);
          this.prune(merged);
          await atomicWriteFile(file, JSON.stringify(toFile(merged)));
          this.sightings = merged;
          this.loadedFile = true;
          // Sightings made while we wrote stay pending for the next save.
          for (const p of this.pending) apply(this.sightings, p);
        },
        { timeoutMs: 10_000 },
      );
    } catch (err) {
      // A cache we cannot write costs speed, not correctness: keep the sightings for a later save.
      this.pending = [...pending, ...this.pending];
      throw err;
    }
  }

  private prune(s: Sightings): void {
    for (const regs of s.values()) {
      for (const [reg, repos] of regs) {
        if (repos.size <= this.maxRepositories) continue;
        const keep = [...repos].sort((a, b) => b[1] - a[1]).slice(0, this.maxRepositories);
        regs.set(reg, new Map(keep));
      }
    }
    if (s.size <= this.maxBlobs) return;
    const newest = (regs: Map<string, Map<string, number>>): number => Math.max(...[...regs.values()].flatMap((r) => [...r.values()]));
    const order = [...s].map(([d, regs]) => [d, newest(regs)] as const).sort((a, b) => b[1] - a[1]);
    for (const [d] of order.slice(this.maxBlobs)) s.delete(d);
  }
}

/** Apply one observation; a forget only removes a sighting older than itself (another process may have seen it since). */
function apply(s: Sightings, o: Sighting): void {
  const { digest, loc, at } = o;
  let regs = s.get(digest);
  if (o.forget) {
    const repos = regs?.get(loc.registry);
    if (!repos || (repos.get(loc.repository) ?? 0) > at) return;
    repos.delete(loc.repository);
    if (repos.size === 0) regs!.delete(loc.registry);
    if (regs!.size === 0) s.delete(digest);
    return;
  }
  if (!regs) {
    regs = new Map();
    s.set(digest, regs);
  }
  let repos = regs.get(loc.registry);
  if (!repos) {
    repos = new Map();
    regs.set(loc.registry, repos);
  }
  repos.set(loc.repository, Math.max(at, repos.get(loc.repository) ?? 0));
}

async function readCacheFile(file: string): Promise<Sightings> {
  const s: Sightings = new Map();
  let parsed: CacheFile;
  try {
    parsed = JSON.parse(await readFile(file, 'utf8')) as CacheFile;
  } catch {
    return s; // missing or damaged: start afresh (the next save replaces it)
  }
  if (!parsed || parsed.v !== FORMAT || typeof parsed.blobs !== 'object' || parsed.blobs === null) return s;
  for (const [digest, regs] of Object.entries(parsed.blobs)) {
    if (!isDigest(digest) || typeof regs !== 'object' || regs === null) continue;
    const m = new Map<string, Map<string, number>>();
    for (const [reg, repos] of Object.entries(regs)) {
      if (typeof repos !== 'object' || repos === null) continue;
      const r = new Map<string, number>();
      for (const [repo, at] of Object.entries(repos)) if (typeof at === 'number' && Number.isFinite(at)) r.set(repo, at);
      if (r.size > 0) m.set(reg, r);
    }
    if (m.size > 0) s.set(digest, m);
  }
  return s;
}

function toFile(s: Sightings): CacheFile {
  const blobs: CacheFile['blobs'] = {};
  for (const [digest, regs] of s) {
    const o: Record<string, Record<string, number>> = {};
    for (const [reg, repos] of regs) o[reg] = Object.fromEntries(repos);
    blobs[digest] = o;
  }
  return { v: FORMAT, blobs };
}

/** A cache persisted in `file` (undefined: in memory only). */
export function blobInfoCache(file: string | undefined, options: BlobInfoCacheOptions = {}): BlobInfoCache {
  return new BlobInfoCache(file, options);
}
