// Directories a build creates and must not outlive it (temp dirs, active snapshots and the mounts in
// them): each gets an owner record next to it, <dir>.owner, naming the process (pid, start time,
// host) and its owner lock, a kernel lock held for the process' life. The next build or
// `tsbuild stages gc` removes what a dead owner left, unmounting first; a live owner's are kept.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { isKernelLocked, tryKernelLock, type KernelLock } from './kernel-lock.js';
import { removeTree } from './remove-tree.js';

// Made at the first call: reading execFile when this module loads would load node:child_process
// (~2.5 ms) in every command that imports it, `image push` included (scripts/bundle.mjs loads it lazily).
const run = (file: string, args: string[]): Promise<{ stdout: string; stderr: string }> => promisify(execFile)(file, args);

export interface OwnerRecord {
  pid: number;
  /** Process start time (clock ticks since boot, /proc/<pid>/stat field 22): pid reuse is not the same owner. */
  start: string;
  host: string;
  /** The owner lock: held (flock) while the owner lives. */
  lock: string;
}

const OWNER_SUFFIX = '.owner';

const owners = new Map<string, Promise<{ record: OwnerRecord; lock: KernelLock }>>();

/** Start time of a process (clock ticks since boot, /proc/<pid>/stat field 22): pid reuse is not the same process. */
export function startTime(pid: number | 'self'): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function pidNamespace(): string {
  try {
    return /\[(\d+)\]/.exec(readlinkSync('/proc/self/ns/pid'))?.[1] ?? '0';
  } catch {
    return '0';
  }
}

/**
 * A temp file name prefix naming this process: "<pid>-<start time>-<pid namespace>-". A file whose
 * owner is gone can then be removed at once; one from another pid namespace (a rootless build),
 * where our /proc cannot tell, only once it has not been written to for `foreignAgeMs`.
 */
export function ownedFilePrefix(): string {
  return `${process.pid}-${startTime('self') ?? '0'}-${pidNamespace()}-`;
}

/** Whether the temp file named with ownedFilePrefix() (or the older "<pid>-…") may be removed. */
async function ownedFileAbandoned(path: string, foreignAgeMs = 600_000): Promise<boolean> {
  const parts = basename(path).split('-');
  const pid = Number(parts[0]);
  if (!Number.isInteger(pid) || pid <= 0) return olderThan(path, foreignAgeMs);
  if (parts.length >= 4) {
    if (parts[2] !== pidNamespace()) return olderThan(path, foreignAgeMs);
    const start = startTime(pid);
    return start === undefined || start !== parts[1];
  }
  return startTime(pid) === undefined;
}

/** Remove abandoned temp files (see ownedFileAbandoned) of a directory; returns their paths. */
export async function sweepOwnedFiles(dir: string, options: SweepOptions = {}): Promise<string[]> {
  const removed: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    if (!(await ownedFileAbandoned(path))) continue;
    removed.push(path);
    if (!options.dryRun) await removeTree(path);
  }
  return removed;
}

/** This process as an owner; its owner lock lives in `lockDir` (one per process and lockDir). */
function processOwner(lockDir: string): Promise<OwnerRecord> {
  let p = owners.get(lockDir);
  if (!p) {
    p = (async () => {
      const path = join(lockDir, `${process.pid}-${randomBytes(6).toString('hex')}.lock`);
      const lock = await tryKernelLock(path);
      if (!lock) throw new Error(`owner lock ${path} is held by another process`);
      // Gone with a normal exit, so lock files do not pile up for every later sweep to test one by
      // one; a killed process's lock is removed by the next sweep (sweepOwnerLocks).
      process.once('exit', () => {
        try {
          unlinkSync(path);
        } catch {
          // Already swept.
        }
      });
      return { record: { pid: process.pid, start: startTime('self') ?? '', host: hostname(), lock: path }, lock };
    })();
    owners.set(lockDir, p);
    p.catch(() => owners.delete(lockDir));
  }
  return p.then((o) => o.record);
}

/** A new directory parent/<prefix><random> owned by this process (the record is written first). */
export async function makeOwnedDir(parent: string, prefix: string, lockDir: string): Promise<string> {
  const owner = await processOwner(lockDir);
  await mkdir(parent, { recursive: true });
  const dir = join(parent, `${prefix}${randomBytes(6).toString('hex')}`);
  await writeFile(`${dir}${OWNER_SUFFIX}`, JSON.stringify(owner));
  await mkdir(dir);
  return dir;
}

/** Remove an owned directory and then its record. */
export async function removeOwnedDir(dir: string): Promise<void> {
  await removeTree(dir);
  await unlink(`${dir}${OWNER_SUFFIX}`).catch(() => undefined);
}

/** Whether the recorded owner still runs (another host's owner is assumed alive). */
export async function ownerAlive(rec: Partial<OwnerRecord>): Promise<boolean> {
  if (rec.host !== undefined && rec.host !== hostname()) return true;
  if (rec.lock) return isKernelLocked(rec.lock);
  if (!rec.pid) return false;
  const start = startTime(rec.pid);
  return start !== undefined && (rec.start === undefined || rec.start === '' || start === rec.start);
}

/** Mount points at or under `dir` in this mount namespace, deepest first. */
export function mountsUnder(dir: string): string[] {
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (!field) continue;
    const point = field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (point === dir || point.startsWith(`${dir}/`)) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

async function unmountAll(dir: string): Promise<boolean> {
  for (const m of mountsUnder(dir)) {
    await run('umount', [m]).catch(() => run('umount', ['-l', m]).catch(() => undefined));
  }
  return mountsUnder(dir).length === 0;
}

export interface SweepOptions {
  /** Entries without an owner record (made before records existed) unchanged for this long are removed (default a day). */
  legacyAgeMs?: number;
  dryRun?: boolean;
}

/**
 * Remove the entries of `parent` whose owner is gone: unmount what is mounted under them, then
 * delete them and their records. Never deletes through a mount that would not go away.
 */
export async function sweepOwnedDirs(parent: string, options: SweepOptions = {}): Promise<string[]> {
  const names = await readdir(parent).catch(() => [] as string[]);
  const present = new Set(names);
  const removed: string[] = [];
  const verdicts = new Map<string, Promise<boolean>>();
  for (const name of names) {
    const path = join(parent, name);
    if (name.endsWith(OWNER_SUFFIX)) {
      const dir = path.slice(0, -OWNER_SUFFIX.length);
      let rec: Partial<OwnerRecord>;
      try {
        rec = JSON.parse(await readFile(path, 'utf8')) as Partial<OwnerRecord>;
      } catch {
        // Being written right now, or torn by a crash: judged by age like a legacy entry.
        if (!(await olderThan(path, options.legacyAgeMs ?? 86_400_000))) continue;
        rec = {};
      }
      const key = rec.lock ?? `${rec.pid}:${rec.start}`;
      let alive = verdicts.get(key);
      if (!alive) {
        alive = ownerAlive(rec);
        verdicts.set(key, alive);
      }
      if (await alive) continue;
      if (options.dryRun) {
        if (present.has(name.slice(0, -OWNER_SUFFIX.length))) removed.push(dir);
        continue;
      }
      if (!(await unmountAll(dir))) continue;
      await removeTree(dir);
      await unlink(path).catch(() => undefined);
      if (present.has(name.slice(0, -OWNER_SUFFIX.length))) removed.push(dir);
      continue;
    }
    if (present.has(`${name}${OWNER_SUFFIX}`)) continue;
    if (!(await olderThan(path, options.legacyAgeMs ?? 86_400_000))) continue;
    removed.push(path);
    if (options.dryRun) continue;
    if (!(await unmountAll(path))) {
      removed.pop();
      continue;
    }
    await removeTree(path);
  }
  return removed;
}

/** Remove the owner locks of processes that are gone (older than a minute: never one being taken). */
export async function sweepOwnerLocks(lockDir: string): Promise<void> {
  for (const name of await readdir(lockDir).catch(() => [] as string[])) {
    const path = join(lockDir, name);
    if (!name.endsWith('.lock') || !(await olderThan(path, 60_000))) continue;
    if (!(await isKernelLocked(path))) await unlink(path).catch(() => undefined);
  }
}

async function olderThan(path: string, ms: number): Promise<boolean> {
  const st = await stat(path).catch(() => undefined);
  return !!st && Date.now() - st.mtimeMs > ms;
}
