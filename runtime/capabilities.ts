// The capabilities a build step keeps: Docker's default set (apt-get, chown, setuid binaries) minus
// CAP_MKNOD. Docker can leave CAP_MKNOD because its device cgroup refuses to open the nodes; tsbuild
// sets no cgroup, so a root step could make a node for the host's disk and read it. Everything else,
// CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH first (mount, open_by_handle_at), is dropped; a step running
// as another uid gets none.
export const STEP_CAPABILITIES = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
] as const;

const CAP_NUMBERS: Record<(typeof STEP_CAPABILITIES)[number], number> = {
  CAP_CHOWN: 0, CAP_DAC_OVERRIDE: 1, CAP_FOWNER: 3, CAP_FSETID: 4, CAP_KILL: 5, CAP_SETGID: 6, CAP_SETUID: 7, CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10, CAP_NET_RAW: 13, CAP_SYS_CHROOT: 18, CAP_AUDIT_WRITE: 29, CAP_SETFCAP: 31,
};

/** The set as /proc/<pid>/status prints it (CapEff of a root step): 00000000a00425fb. */
export function capabilityMask(caps: readonly (typeof STEP_CAPABILITIES)[number][] = STEP_CAPABILITIES): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(CAP_NUMBERS[c]);
  return mask.toString(16).padStart(16, '0');
}
