// The mtime a layer entry records for a file: its mtime in whole seconds and nanoseconds (a time
// before the epoch rounds down), clamped to SOURCE_DATE_EPOCH when one is given and the file is newer.

/** [seconds, nanoseconds] of `mtimeNs` (from a BigInt stat), clamped to `sourceDateEpoch`. */
export function layerMtime(mtimeNs: bigint, sourceDateEpoch?: number): [number, number] {
  let sec = mtimeNs / 1_000_000_000n;
  let nsec = mtimeNs % 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  if (sourceDateEpoch !== undefined && (sec > BigInt(sourceDateEpoch) || (sec === BigInt(sourceDateEpoch) && nsec > 0n))) return [sourceDateEpoch, 0];
  return [Number(sec), Number(nsec)];
}
