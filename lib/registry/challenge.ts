// WWW-Authenticate parsing (RFC 7235 auth-params) for the registry token flow:
// `Bearer realm="https://auth/token",service="reg",scope="repository:a/b:pull"` or `Basic realm="x"`.

export interface Challenge {
  /** Lower-cased scheme: "bearer", "basic", ... */
  scheme: string;
  params: Record<string, string>;
}

/** Parse every challenge in a header value (several may share one header, separated by commas). */
export function parseChallenges(header: string | string[] | undefined): Challenge[] {
  if (header === undefined) return [];
  const values = Array.isArray(header) ? header : [header];
  const out: Challenge[] = [];
  for (const value of values) {
    let i = 0;
    const s = value;
    let current: Challenge | undefined;
    while (i < s.length) {
      while (i < s.length && (s[i] === ' ' || s[i] === ',' || s[i] === '\t')) i++;
      const tokStart = i;
      while (i < s.length && /[!#$%&'*+.^_`|~\w-]/.test(s[i]!)) i++;
      const token = s.slice(tokStart, i);
      if (!token) {
        i++;
        continue;
      }
      let j = i;
      while (j < s.length && s[j] === ' ') j++;
      if (s[j] === '=' && current) {
        // auth-param: token = token / quoted-string
        j++;
        while (j < s.length && s[j] === ' ') j++;
        let val = '';
        if (s[j] === '"') {
          j++;
          while (j < s.length && s[j] !== '"') {
            if (s[j] === '\\' && j + 1 < s.length) j++;
            val += s[j];
            j++;
          }
          j++;
        } else {
          const vs = j;
          while (j < s.length && s[j] !== ',' && s[j] !== ' ') j++;
          val = s.slice(vs, j);
        }
        current.params[token.toLowerCase()] = val;
        i = j;
      } else {
        current = { scheme: token.toLowerCase(), params: {} };
        out.push(current);
      }
    }
  }
  return out;
}
