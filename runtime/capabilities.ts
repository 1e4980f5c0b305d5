// The capabilities a build step keeps: Docker's default set (apt-get, chown, setuid binaries) minus
// CAP_MKNOD. Docker can leave CAP_MKNOD because its device cgroup refuses to open the nodes; tsbuild
// sets no cgroup, so a root step could make a node for the host's disk and read it. Everything else,
// CAP_SYS_ADMIN and CAP_DAC_READ_SEARCH first (mount, open_by_handle_at), is dropped; a step running
// as another uid gets none.
export const STEP_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
] as const;

const CAP_NUMBERS: Record<(typeof STEP_CAPABILITIES)[number], number> = {
  CAP_CHOWN: 0,
  CAP_DAC_OVERRIDE: 1,
  CAP_FOWNER: 3,
  CAP_FSETID: 4,
  CAP_KILL: 5,
  CAP_SETGID: 6,
  CAP_SETUID: 7,
  CAP_SETPCAP: 8,
  CAP_NET_BIND_SERVICE: 10,
  CAP_NET_RAW: 13,
  CAP_SYS_CHROOT: 18,
  CAP_AUDIT_WRITE: 29,
  CAP_SETFCAP: 31,
};

/** The set as /proc/<pid>/status prints it (CapEff of a root step): 00000000a00425fb. */
export function capabilityMask(caps: readonly (typeof STEP_CAPABILITIES)[number][] = STEP_CAPABILITIES): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(CAP_NUMBERS[c]);
  return mask.toString(16).padStart(16, '0');
}

/** Every capability by number (linux/capability.h), as setpriv names them. */
const ALL_CAPABILITIES = [
  'chown',
  'dac_override',
  'dac_read_search',
  'fowner',
  'fsetid',
  'kill',
  'setgid',
  'setuid',
  'setpcap',
  'linux_immutable',
  'net_bind_service',
  'net_broadcast',
  'net_admin',
  'net_raw',
  'ipc_lock',
  'ipc_owner',
  'sys_module',
  'sys_rawio',
  'sys_chroot',
  'sys_ptrace',
  'sys_pacct',
  'sys_admin',
  'sys_boot',
  'sys_nice',
  'sys_resource',
  'sys_time',
  'sys_tty_config',
  'mknod',
  'lease',
  'audit_write',
  'audit_control',
  'setfcap',
  'mac_override',
  'mac_admin',
  'syslog',
  'wake_alarm',
  'block_suspend',
  'audit_read',
  'perfmon',
  'bpf',
  'checkpoint_restore',
] as const;

/** Capabilities missing from a CapBnd mask (hex, as /proc/self/status shows it), by setpriv name. */
export function missingFromBoundingSet(capBnd: string): string[] {
  const mask = BigInt(`0x${capBnd.trim() || '0'}`);
  return ALL_CAPABILITIES.filter((_, i) => (mask & (1n << BigInt(i))) === 0n);
}
