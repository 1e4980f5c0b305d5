// Commit times as werf hands them to builds (WERF_COMMIT_TIME_HUMAN): Go's time.Time.String()
// layout "2006-01-02 15:04:05 -0700 MST". tsbuild always prints UTC so the value is the same on
// every machine (werf prints the builder's local zone).
export function formatCommitTime(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  const date = `${p(d.getUTCFullYear(), 4)}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())}`;
  const time = `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
  return `${date} ${time} +0000 UTC`;
}
