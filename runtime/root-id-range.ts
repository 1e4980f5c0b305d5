// The subordinate ids a root-run tsbuild gives its steps: root's own /etc/subuid and /etc/subgid
// ranges when it has them, else a range tsbuild reserves (2000000000-2000065535: above systemd's
// container range 524288-1878982656 and below 2^31, where ids stop being safe for signed 32-bit
// code), refused if any /etc/subuid or /etc/subgid entry overlaps it.
import { readFile } from 'node:fs/promises';
import type { IdRange } from './probe-types.js';

const RESERVED_ROOT_RANGE: IdRange = { start: 2_000_000_000, count: 65_536 };

/**
 * The id host root has inside the builder's namespace: root's builder must reach directories only
 * host root may enter (a CI checkout in /root, a 0700 TSBUILD_HOME). Steps run in a child namespace
 * that does not map it. High, so that no image's file owner lands on it by accident.
 */
export const HOST_ROOT_IN_NAMESPACE = 2_147_483_646;

export type RootIdRanges = { subuid: IdRange; subgid: IdRange; source: string } | { error: string };

function parse(text: string): Array<{ name: string; range: IdRange }> {
  const out: Array<{ name: string; range: IdRange }> = [];
  for (const line of text.split('\n')) {
    const [name, start, count] = line.trim().split(':');
    if (name && start && count && /^\d+$/.test(start) && /^\d+$/.test(count)) out.push({ name, range: { start: Number(start), count: Number(count) } });
  }
  return out;
}

const overlaps = (a: IdRange, b: IdRange): boolean => a.start < b.start + b.count && b.start < a.start + a.count;

export async function rootIdRanges(files = { subuid: '/etc/subuid', subgid: '/etc/subgid' }): Promise<RootIdRanges> {
  const [uids, gids] = await Promise.all(
    [readFile(files.subuid, 'utf8').catch(() => ''), readFile(files.subgid, 'utf8').catch(() => '')].map(async (p) => parse(await p)),
  );
  const own = (list: Array<{ name: string; range: IdRange }>): IdRange | undefined => list.find((e) => e.name === 'root' || e.name === '0')?.range;
  const subuid = own(uids!);
  const subgid = own(gids!);
  const usable = (r: IdRange): boolean => r.count >= 1 && r.start > 0 && r.start + r.count <= HOST_ROOT_IN_NAMESPACE;
  if (subuid && subgid && usable(subuid) && usable(subgid)) return { subuid, subgid, source: `root's ranges in ${files.subuid} and ${files.subgid}` };
  for (const [file, list] of [
    [files.subuid, uids!],
    [files.subgid, gids!],
  ] as const) {
    const clash = list.find((e) => overlaps(e.range, RESERVED_ROOT_RANGE));
    if (clash) {
      return {
        error: `the range tsbuild reserves for root's steps (${RESERVED_ROOT_RANGE.start}+${RESERVED_ROOT_RANGE.count}) overlaps ${clash.name}'s range in ${file}; give root its own range: usermod --add-subuids A-B --add-subgids A-B root`,
      };
    }
  }
  return { subuid: RESERVED_ROOT_RANGE, subgid: RESERVED_ROOT_RANGE, source: `tsbuild's reserved range (root has none in ${files.subuid})` };
}
