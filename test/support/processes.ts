// Host processes as tests see them: what a sandboxed step left running is found by its command line.
import { readFileSync, readdirSync } from 'node:fs';

/** Host processes whose command line contains `needle`. */
export function processesWith(needle: string): number[] {
  const found: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      if (readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').includes(needle)) found.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return found;
}
