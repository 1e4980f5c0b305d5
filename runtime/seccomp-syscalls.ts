// The system calls a build step may not make, with their numbers per architecture (from the kernel's
// uapi headers: asm/unistd_64.h, asm/unistd_32.h, asm-generic/unistd.h; a unit test compares them
// with the headers installed here). Docker's default profile refuses all of them to a container
// without extra capabilities; tsbuild refuses them to every step. docs/security.md explains each group.

/** Why a call is refused: the group names the doc table uses. */
export type DenyGroup = 'escape' | 'kernel' | 'namespaces' | 'mount' | 'ptrace' | 'keys' | 'tracing' | 'time' | 'host' | 'numa';

export interface DeniedSyscall {
  name: string;
  group: DenyGroup;
  x86_64?: number;
  i386?: number;
  aarch64?: number;
}

export const DENIED_SYSCALLS: readonly DeniedSyscall[] = [
  // "shocker": a file handle names any inode of the file system behind a descriptor, bypassing the mount.
  { name: 'open_by_handle_at', group: 'escape', x86_64: 304, i386: 342, aarch64: 265 },
  { name: 'name_to_handle_at', group: 'escape', x86_64: 303, i386: 341, aarch64: 264 },
  // Loading code into the kernel or replacing it.
  { name: 'kexec_load', group: 'kernel', x86_64: 246, i386: 283, aarch64: 104 },
  { name: 'kexec_file_load', group: 'kernel', x86_64: 320, aarch64: 294 },
  { name: 'init_module', group: 'kernel', x86_64: 175, i386: 128, aarch64: 105 },
  { name: 'finit_module', group: 'kernel', x86_64: 313, i386: 350, aarch64: 273 },
  { name: 'delete_module', group: 'kernel', x86_64: 176, i386: 129, aarch64: 106 },
  { name: 'create_module', group: 'kernel', x86_64: 174, i386: 127 },
  { name: 'get_kernel_syms', group: 'kernel', x86_64: 177, i386: 130 },
  { name: 'query_module', group: 'kernel', x86_64: 178, i386: 167 },
  { name: 'bpf', group: 'kernel', x86_64: 321, i386: 357, aarch64: 280 },
  { name: 'uselib', group: 'kernel', x86_64: 134, i386: 86 },
  { name: '_sysctl', group: 'kernel', x86_64: 156, i386: 149 },
  { name: 'lookup_dcookie', group: 'kernel', x86_64: 212, i386: 253, aarch64: 18 },
  { name: 'nfsservctl', group: 'kernel', x86_64: 180, i386: 169, aarch64: 42 },
  // New namespaces and joining others' (clone with CLONE_NEW* flags is refused by an argument check).
  { name: 'unshare', group: 'namespaces', x86_64: 272, i386: 310, aarch64: 97 },
  { name: 'setns', group: 'namespaces', x86_64: 308, i386: 346, aarch64: 268 },
  // Mounting file systems, old and new mount API.
  { name: 'mount', group: 'mount', x86_64: 165, i386: 21, aarch64: 40 },
  { name: 'umount2', group: 'mount', x86_64: 166, i386: 52, aarch64: 39 },
  { name: 'umount', group: 'mount', i386: 22 },
  { name: 'pivot_root', group: 'mount', x86_64: 155, i386: 217, aarch64: 41 },
  { name: 'open_tree', group: 'mount', x86_64: 428, i386: 428, aarch64: 428 },
  { name: 'move_mount', group: 'mount', x86_64: 429, i386: 429, aarch64: 429 },
  { name: 'fsopen', group: 'mount', x86_64: 430, i386: 430, aarch64: 430 },
  { name: 'fsconfig', group: 'mount', x86_64: 431, i386: 431, aarch64: 431 },
  { name: 'fsmount', group: 'mount', x86_64: 432, i386: 432, aarch64: 432 },
  { name: 'fspick', group: 'mount', x86_64: 433, i386: 433, aarch64: 433 },
  { name: 'mount_setattr', group: 'mount', x86_64: 442, i386: 442, aarch64: 442 },
  { name: 'fanotify_init', group: 'mount', x86_64: 300, i386: 338, aarch64: 262 },
  { name: 'quotactl', group: 'mount', x86_64: 179, i386: 131, aarch64: 60 },
  { name: 'quotactl_fd', group: 'mount', x86_64: 443, i386: 443, aarch64: 443 },
  // Reading or steering another process: bwrap's own pid 1 shares the step's namespaces but not its
  // filter, so ptrace would be a way around the filter (Docker allows ptrace; tsbuild does not).
  { name: 'ptrace', group: 'ptrace', x86_64: 101, i386: 26, aarch64: 117 },
  { name: 'process_vm_readv', group: 'ptrace', x86_64: 310, i386: 347, aarch64: 270 },
  { name: 'process_vm_writev', group: 'ptrace', x86_64: 311, i386: 348, aarch64: 271 },
  { name: 'pidfd_getfd', group: 'ptrace', x86_64: 438, i386: 438, aarch64: 438 },
  { name: 'kcmp', group: 'ptrace', x86_64: 312, i386: 349, aarch64: 272 },
  // The kernel keyring is not namespaced.
  { name: 'keyctl', group: 'keys', x86_64: 250, i386: 288, aarch64: 219 },
  { name: 'add_key', group: 'keys', x86_64: 248, i386: 286, aarch64: 217 },
  { name: 'request_key', group: 'keys', x86_64: 249, i386: 287, aarch64: 218 },
  // Kernel attack surface with a history of exploits.
  { name: 'perf_event_open', group: 'tracing', x86_64: 298, i386: 336, aarch64: 241 },
  { name: 'userfaultfd', group: 'tracing', x86_64: 323, i386: 374, aarch64: 282 },
  { name: 'io_uring_setup', group: 'tracing', x86_64: 425, i386: 425, aarch64: 425 },
  { name: 'io_uring_enter', group: 'tracing', x86_64: 426, i386: 426, aarch64: 426 },
  { name: 'io_uring_register', group: 'tracing', x86_64: 427, i386: 427, aarch64: 427 },
  { name: 'syslog', group: 'tracing', x86_64: 103, i386: 103, aarch64: 116 },
  // The clock is the host's.
  { name: 'settimeofday', group: 'time', x86_64: 164, i386: 79, aarch64: 170 },
  { name: 'clock_settime', group: 'time', x86_64: 227, i386: 264, aarch64: 112 },
  { name: 'clock_settime64', group: 'time', i386: 404 },
  { name: 'clock_adjtime', group: 'time', x86_64: 305, i386: 343, aarch64: 266 },
  { name: 'clock_adjtime64', group: 'time', i386: 405 },
  { name: 'adjtimex', group: 'time', x86_64: 159, i386: 124, aarch64: 171 },
  { name: 'stime', group: 'time', i386: 25 },
  // The machine itself.
  { name: 'reboot', group: 'host', x86_64: 169, i386: 88, aarch64: 142 },
  { name: 'swapon', group: 'host', x86_64: 167, i386: 87, aarch64: 224 },
  { name: 'swapoff', group: 'host', x86_64: 168, i386: 115, aarch64: 225 },
  { name: 'acct', group: 'host', x86_64: 163, i386: 51, aarch64: 89 },
  { name: 'iopl', group: 'host', x86_64: 172, i386: 110 },
  { name: 'ioperm', group: 'host', x86_64: 173, i386: 101 },
  { name: 'vhangup', group: 'host', x86_64: 153, i386: 111, aarch64: 58 },
  { name: 'vm86', group: 'host', i386: 166 },
  { name: 'vm86old', group: 'host', i386: 113 },
  // Memory placement across NUMA nodes (Docker: CAP_SYS_NICE only).
  { name: 'mbind', group: 'numa', x86_64: 237, i386: 274, aarch64: 235 },
  { name: 'set_mempolicy', group: 'numa', x86_64: 238, i386: 276, aarch64: 237 },
  { name: 'move_pages', group: 'numa', x86_64: 279, i386: 317, aarch64: 239 },
];

/** clone(2) is allowed without namespace flags; clone3(2) gets ENOSYS so libc falls back to clone. */
export const CLONE_SYSCALL = { x86_64: 56, i386: 120, aarch64: 220 } as const;
export const CLONE3_SYSCALL = 435;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET | NEWTIME. */
export const CLONE_NAMESPACE_FLAGS = [0x00020000, 0x02000000, 0x04000000, 0x08000000, 0x10000000, 0x20000000, 0x40000000, 0x00000080] as const;
