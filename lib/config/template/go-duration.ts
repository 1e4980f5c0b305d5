// Go's time.Duration text: String() and time.ParseDuration, in nanoseconds.
/** time.Duration(ns).String() */
export function formatDuration(ns: number): string {
  if (ns === 0) return '0s';
  const neg = ns < 0;
  let u = Math.abs(ns);
  let out: string;
  if (u < 1e9) {
    if (u < 1e3) out = u + 'ns';
    else if (u < 1e6) out = trimFrac(u / 1e3) + '\u00b5s';
    else out = trimFrac(u / 1e6) + 'ms';
  } else {
    const h = Math.floor(u / 3.6e12);
    u -= h * 3.6e12;
    const m = Math.floor(u / 6e10);
    u -= m * 6e10;
    out = (h ? h + 'h' : '') + (h || m ? m + 'm' : '') + trimFrac(u / 1e9) + 's';
  }
  return (neg ? '-' : '') + out;
}

function trimFrac(x: number): string {
  return String(Number(x.toFixed(9)));
}

/**
 * time.ParseDuration, in nanoseconds. Go takes both micro signs for microseconds: U+00B5 (micro sign) and
 * U+03BC (Greek small mu). Written as \u escapes: one non-ASCII character in a bundle makes node read the whole
 * file as a two-byte string at every start (scripts/bundle.mjs refuses it).
 */
export function parseDuration(s: string): number {
  const m = /^([-+]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h))+$/.exec(s);
  if (!m || s === '') throw new Error(`time: invalid duration ${JSON.stringify(s)}`);
  const unit: Record<string, number> = { ns: 1, us: 1e3, '\u00b5s': 1e3, '\u03bcs': 1e3, ms: 1e6, s: 1e9, m: 6e10, h: 3.6e12 };
  let total = 0;
  for (const part of s.slice(m[1]!.length).matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/g)) {
    total += Number(part[1]) * unit[part[2]!]!;
  }
  return m[1] === '-' ? -total : total;
}
