// The seccomp filter of every build step, generated here rather than taken from a library: a classic
// BPF program for bwrap (`--seccomp FD` reads struct sock_filter[]) and the same list as an OCI
// `linux.seccomp` section for runc and crun. Default allow; the calls in seccomp-syscalls.ts fail
// with EPERM, clone with a namespace flag too, clone3 with ENOSYS (its flags are in memory a filter
// cannot read; libc then falls back to clone). A syscall of a foreign ABI gets EPERM (x32 always;
// i386 on x86_64 is checked against its own table, 32-bit arm on aarch64 is refused as a whole).
import { CLONE3_SYSCALL, CLONE_NAMESPACE_FLAGS, CLONE_SYSCALL, DENIED_SYSCALLS } from './seccomp-syscalls.js';

export type SeccompArch = 'x86_64' | 'aarch64';

const AUDIT_ARCH = { x86_64: 0xc000003e, i386: 0x40000003, aarch64: 0xc00000b7, arm: 0x40000028 } as const;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;

const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;

// struct seccomp_data { int nr; __u32 arch; __u64 instruction_pointer; __u64 args[6]; }
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LOW = 16; // little-endian: the low 32 bits of args[0], where clone's flags are

const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;

/** The architecture of this machine in seccomp's terms, or undefined where tsbuild has no table. */
export function hostSeccompArch(arch: string = process.arch): SeccompArch | undefined {
  if (arch === 'x64') return 'x86_64';
  if (arch === 'arm64') return 'aarch64';
  return undefined;
}

type Target = string | number; // a label, or 0 = the next instruction
interface Insn {
  code: number;
  k: number;
  jt?: Target;
  jf?: Target;
  label?: string;
}

/** Deny list for one ABI: syscall numbers the filter answers with EPERM. */
function deniedNumbers(abi: 'x86_64' | 'i386' | 'aarch64'): number[] {
  const out = new Set<number>();
  for (const s of DENIED_SYSCALLS) {
    const n = s[abi];
    if (n !== undefined) out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}

/** One ABI's checks; control ends in a return. */
function abiBlock(abi: 'x86_64' | 'i386' | 'aarch64', label: string): Insn[] {
  const code: Insn[] = [{ code: LD_W_ABS, k: OFF_NR, label }];
  if (abi === 'x86_64') code.push({ code: JGE_K, k: X32_SYSCALL_BIT, jt: 'eperm', jf: 0 });
  for (const n of deniedNumbers(abi)) code.push({ code: JEQ_K, k: n, jt: 'eperm', jf: 0 });
  code.push({ code: JEQ_K, k: CLONE3_SYSCALL, jt: 'enosys', jf: 0 });
  code.push({ code: JEQ_K, k: CLONE_SYSCALL[abi], jt: 'clone', jf: 'allow' });
  return code;
}

/** The filter as struct sock_filter[] in host byte order (both supported arches are little-endian). */
export function seccompProgram(arch: SeccompArch): Buffer {
  const prog: Insn[] = [{ code: LD_W_ABS, k: OFF_ARCH }];
  if (arch === 'x86_64') {
    prog.push({ code: JEQ_K, k: AUDIT_ARCH.x86_64, jt: 'native', jf: 0 });
    prog.push({ code: JEQ_K, k: AUDIT_ARCH.i386, jt: 'compat', jf: 'eperm' });
    prog.push(...abiBlock('x86_64', 'native'), ...abiBlock('i386', 'compat'));
  } else {
    prog.push({ code: JEQ_K, k: AUDIT_ARCH.aarch64, jt: 'native', jf: 'eperm' });
    prog.push(...abiBlock('aarch64', 'native'));
  }
  const nsMask = CLONE_NAMESPACE_FLAGS.reduce((a, b) => (a | b) >>> 0, 0);
  prog.push(
    { code: LD_W_ABS, k: OFF_ARG0_LOW, label: 'clone' },
    { code: JSET_K, k: nsMask, jt: 'eperm', jf: 'allow' },
    { code: RET_K, k: RET_ALLOW, label: 'allow' },
    { code: RET_K, k: RET_ERRNO | EPERM, label: 'eperm' },
    { code: RET_K, k: RET_ERRNO | ENOSYS, label: 'enosys' },
  );
  return assemble(prog);
}

function assemble(prog: Insn[]): Buffer {
  const labels = new Map<string, number>();
  for (const [i, insn] of prog.entries()) if (insn.label) labels.set(insn.label, i);
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach((insn, i) => {
    const offset = (t: Target | undefined): number => {
      if (t === undefined || t === 0) return 0;
      const at = typeof t === 'string' ? labels.get(t) : i + 1 + t;
      if (at === undefined) throw new Error(`seccomp: no label ${String(t)}`);
      const off = at - i - 1;
      // Classic BPF jumps forward only, by at most 255 instructions.
      if (off < 0 || off > 255) throw new Error(`seccomp: jump from ${i} to ${String(t)} out of range`);
      return off;
    };
    buf.writeUInt16LE(insn.code, i * 8);
    buf.writeUInt8(offset(insn.jt), i * 8 + 2);
    buf.writeUInt8(offset(insn.jf), i * 8 + 3);
    buf.writeUInt32LE(insn.k >>> 0, i * 8 + 4);
  });
  return buf;
}

/** The same policy as an OCI runtime-spec `linux.seccomp` section (runc and crun compile it with libseccomp). */
export function ociSeccomp(arch: SeccompArch): Record<string, unknown> {
  const abis = arch === 'x86_64' ? (['x86_64', 'i386'] as const) : (['aarch64'] as const);
  const names = [...new Set(DENIED_SYSCALLS.filter((s) => abis.some((a) => s[a] !== undefined)).map((s) => s.name))].sort();
  return {
    defaultAction: 'SCMP_ACT_ALLOW',
    // libseccomp kills a call from an ABI not listed here; x32 is left out on purpose.
    architectures: arch === 'x86_64' ? ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'] : ['SCMP_ARCH_AARCH64'],
    syscalls: [
      { names, action: 'SCMP_ACT_ERRNO', errnoRet: EPERM },
      { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS },
      // Rules for one call are OR-ed: any namespace flag set in clone's flags refuses it.
      ...CLONE_NAMESPACE_FLAGS.map((flag) => ({
        names: ['clone'],
        action: 'SCMP_ACT_ERRNO',
        errnoRet: EPERM,
        args: [{ index: 0, value: flag, valueTwo: flag, op: 'SCMP_CMP_MASKED_EQ' }],
      })),
    ],
  };
}
