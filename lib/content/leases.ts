// Leases protect blobs a running process has written but not referenced yet from `gc`:
// a lease records when its process started; gc keeps every blob newer than the oldest live lease.
import { mkdir, readdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface Lease {
  release(): Promise<void>;
}

interface LeaseRecord {
  pid: number;
  host: string;
  started: number;
}

export async function acquireLease(dir: string): Promise<Lease> {
  await mkdir(dir, { recursive: true });
  const file = join(dir, `${process.pid}-${randomBytes(4).toString('hex')}.json`);
  const rec: LeaseRecord = { pid: process.pid, host: hostname(), started: Date.now() - 1000 };
  await writeFile(file, JSON.stringify(rec));
  return { release: () => unlink(file).catch(() => undefined) };
}

function alive(rec: LeaseRecord): boolean {
  if (rec.host !== hostname()) return true;
  try {
    process.kill(rec.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Start time of the oldest live lease (stale leases of dead processes are removed), or undefined. */
export async function oldestLiveLease(dir: string): Promise<number | undefined> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return undefined;
  }
  let oldest: number | undefined;
  for (const n of names) {
    const file = join(dir, n);
    try {
      const rec = JSON.parse(await readFile(file, 'utf8')) as LeaseRecord;
      if (!alive(rec)) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      oldest = oldest === undefined ? rec.started : Math.min(oldest, rec.started);
    } catch {
      // A lease being written right now: be conservative.
      oldest = 0;
    }
  }
  return oldest;
}
