// The answer of the overlayfs probe (runtime/probe.ts canMountOverlay), kept between runs: the probe
// mounts and unmounts a throwaway overlay, two processes on every build. Whether overlayfs mounts
// changes only with the kernel (reboot, module load) or the filesystem under the probe, so a "yes"
// is kept per boot id, kernel release, uid, probe mode and device of the probe's directory. A "no"
// is not kept: after `modprobe overlay` the next build finds out by itself.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { release, tmpdir } from 'node:os';
import { dirname } from 'node:path';
import { canMountOverlay } from './probe.js';

type Mode = Parameters<typeof canMountOverlay>[0];

/** What decides the probe's answer on this machine now; undefined when the boot id is unknown. */
export async function overlayProbeKey(how: Mode): Promise<string | undefined> {
  try {
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const dev = (await stat(tmpdir())).dev;
    return [bootId, release(), process.getuid?.() ?? -1, how, dev].join(' ');
  } catch {
    return undefined;
  }
}

async function readCache(file: string): Promise<Record<string, boolean>> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as Record<string, boolean>) : {};
  } catch {
    return {};
  }
}

/** canMountOverlay(how), answered from `cacheFile` when this boot already said yes. */
export async function canMountOverlayCached(how: Mode, cacheFile: string, probe: (how: Mode) => Promise<boolean> = canMountOverlay): Promise<boolean> {
  const key = await overlayProbeKey(how);
  if (key === undefined) return probe(how);
  const cache = await readCache(cacheFile);
  if (cache[key] === true) return true;
  const ok = await probe(how);
  if (ok) {
    // Only this boot's answers are worth keeping; a failed write costs a probe next time, nothing else.
    const bootId = key.split(' ')[0]!;
    const kept = Object.fromEntries(Object.entries(cache).filter(([k, v]) => k.startsWith(`${bootId} `) && v === true));
    kept[key] = true;
    const tmp = `${cacheFile}.${randomBytes(4).toString('hex')}.tmp`;
    await mkdir(dirname(cacheFile), { recursive: true })
      .then(() => writeFile(tmp, `${JSON.stringify(kept)}\n`))
      .then(() => rename(tmp, cacheFile))
      .catch(() => undefined);
  }
  return ok;
}
