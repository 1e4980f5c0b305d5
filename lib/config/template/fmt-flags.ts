// The flags of one fmt verb (%+-# 0, width, precision) and padding to the width, as Go's fmt.fmt.
export interface Flags {
  plus: boolean;
  plusV?: boolean;
  minus: boolean;
  sharp: boolean;
  space: boolean;
  zero: boolean;
  wid: number;
  widPresent: boolean;
  prec: number;
  precPresent: boolean;
}

export function noFlags(): Flags {
  return {
    plus: false,
    minus: false,
    sharp: false,
    space: false,
    zero: false,
    wid: 0,
    widPresent: false,
    prec: 0,
    precPresent: false,
  };
}

export function pad(s: string, f: Flags, zeroOk = true): string {
  if (!f.widPresent || f.wid === 0) return s;
  const n = f.wid - [...s].length;
  if (n <= 0) return s;
  if (f.minus) return s + ' '.repeat(n);
  return (f.zero && zeroOk ? '0' : ' ').repeat(n) + s;
}
