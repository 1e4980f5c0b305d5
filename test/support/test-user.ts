// Unprivileged users for the tests that run tsbuild rootless: created on first use, with or without
// a subordinate id range in /etc/subuid and /etc/subgid.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** Make `user` exist; give it a subordinate range when it has none (or take its ranges away when `range` is false). */
export function ensureTestUser(user: string, range: boolean): void {
  try {
    execFileSync('id', [user], { stdio: 'ignore' });
  } catch {
    // A system user (-r) gets no subordinate ids from useradd; a normal one may.
    execFileSync('useradd', range ? ['-m', user] : ['-r', '-m', user]);
  }
  const has = (file: string): string[] =>
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith(`${user}:`));
  if (range) {
    if (has('/etc/subuid').length === 0) execFileSync('usermod', ['--add-subuids', '200000-265535', user]);
    if (has('/etc/subgid').length === 0) execFileSync('usermod', ['--add-subgids', '200000-265535', user]);
    return;
  }
  for (const [file, flag] of [
    ['/etc/subuid', '--del-subuids'],
    ['/etc/subgid', '--del-subgids'],
  ] as const) {
    for (const line of has(file)) {
      const [, start, count] = line.split(':');
      execFileSync('usermod', [flag, `${start}-${Number(start) + Number(count) - 1}`, user]);
    }
  }
}
