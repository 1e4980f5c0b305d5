import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DENIED_SYSCALLS } from './seccomp-syscalls.js';
import { ociSeccomp, seccompProgram } from './seccomp.js';

const HEADERS = {
  x86_64: '/usr/include/x86_64-linux-gnu/asm/unistd_64.h',
  i386: '/usr/include/x86_64-linux-gnu/asm/unistd_32.h',
  aarch64: '/usr/include/asm-generic/unistd.h',
} as const;

function headerNumbers(file: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of readFileSync(file, 'utf8').matchAll(/#define __NR(?:3264)?_(\w+)\s+(\d+)/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

test('syscall numbers match the kernel headers of every ABI (linux-libc-dev)', () => {
  for (const [abi, file] of Object.entries(HEADERS) as Array<[keyof typeof HEADERS, string]>) {
    const nr = headerNumbers(file);
    for (const s of DENIED_SYSCALLS) {
      // asm-generic/unistd.h also lists the 32-bit ABIs' time64 calls, which aarch64 does not have.
      if (abi === 'aarch64' && s[abi] === undefined) continue;
      assert.equal(s[abi], nr.get(s.name), `${s.name} on ${abi}`);
    }
  }
});

/** A classic-BPF interpreter for the instructions the generator emits, over one seccomp_data. */
function evaluate(prog: Buffer, data: { nr: number; arch: number; arg0?: number }): number {
  const mem = Buffer.alloc(64);
  mem.writeInt32LE(data.nr, 0);
  mem.writeUInt32LE(data.arch, 4);
  mem.writeUInt32LE(data.arg0 ?? 0, 16);
  let a = 0;
  for (let pc = 0; pc < prog.length / 8; ) {
    const code = prog.readUInt16LE(pc * 8);
    const jt = prog.readUInt8(pc * 8 + 2);
    const jf = prog.readUInt8(pc * 8 + 3);
    const k = prog.readUInt32LE(pc * 8 + 4);
    switch (code) {
      case 0x20:
        a = mem.readUInt32LE(k);
        pc++;
        break;
      case 0x15:
        pc += 1 + (a === k ? jt : jf);
        break;
      case 0x35:
        pc += 1 + (a >= k ? jt : jf);
        break;
      case 0x45:
        pc += 1 + ((a & k) !== 0 ? jt : jf);
        break;
      case 0x06:
        return k;
      default:
        throw new Error(`unexpected opcode ${code}`);
    }
  }
  throw new Error('fell off the program');
}

const ALLOW = 0x7fff0000;
const EPERM = 0x50001;
const ENOSYS = 0x50026;
const X86_64 = 0xc000003e;
const I386 = 0x40000003;
const AARCH64 = 0xc00000b7;

test('x86_64 filter: denied calls get EPERM, others pass, clone only without namespace flags, clone3 ENOSYS', () => {
  const p = seccompProgram('x86_64');
  assert.equal(evaluate(p, { nr: 304, arch: X86_64 }), EPERM, 'open_by_handle_at');
  assert.equal(evaluate(p, { nr: 165, arch: X86_64 }), EPERM, 'mount');
  assert.equal(evaluate(p, { nr: 272, arch: X86_64 }), EPERM, 'unshare');
  assert.equal(evaluate(p, { nr: 0, arch: X86_64 }), ALLOW, 'read');
  assert.equal(evaluate(p, { nr: 59, arch: X86_64 }), ALLOW, 'execve');
  assert.equal(evaluate(p, { nr: 56, arch: X86_64, arg0: 0x01200011 }), ALLOW, 'fork-style clone');
  assert.equal(evaluate(p, { nr: 56, arch: X86_64, arg0: 0x10000000 | 0x11 }), EPERM, 'clone(CLONE_NEWUSER)');
  assert.equal(evaluate(p, { nr: 56, arch: X86_64, arg0: 0x80 }), EPERM, 'clone(CLONE_NEWTIME)');
  assert.equal(evaluate(p, { nr: 435, arch: X86_64 }), ENOSYS, 'clone3');
  assert.equal(evaluate(p, { nr: 0x40000000 + 165, arch: X86_64 }), EPERM, 'x32 mount');
  assert.equal(evaluate(p, { nr: 0x40000000, arch: X86_64 }), EPERM, 'any x32 call');
  assert.equal(evaluate(p, { nr: 21, arch: I386 }), EPERM, 'i386 mount');
  assert.equal(evaluate(p, { nr: 342, arch: I386 }), EPERM, 'i386 open_by_handle_at');
  assert.equal(evaluate(p, { nr: 3, arch: I386 }), ALLOW, 'i386 read');
  assert.equal(evaluate(p, { nr: 0, arch: AARCH64 }), EPERM, 'foreign architecture');
  for (const s of DENIED_SYSCALLS) {
    if (s.x86_64 !== undefined) assert.equal(evaluate(p, { nr: s.x86_64, arch: X86_64 }), EPERM, s.name);
    if (s.i386 !== undefined) assert.equal(evaluate(p, { nr: s.i386, arch: I386 }), EPERM, `${s.name} (i386)`);
  }
});

test('aarch64 filter: its own numbers and arch check', () => {
  const p = seccompProgram('aarch64');
  for (const s of DENIED_SYSCALLS) if (s.aarch64 !== undefined) assert.equal(evaluate(p, { nr: s.aarch64, arch: AARCH64 }), EPERM, s.name);
  assert.equal(evaluate(p, { nr: 63, arch: AARCH64 }), ALLOW, 'read');
  assert.equal(evaluate(p, { nr: 220, arch: AARCH64, arg0: 0x20000000 }), EPERM, 'clone(CLONE_NEWPID)');
  assert.equal(evaluate(p, { nr: 220, arch: AARCH64, arg0: 0x11 }), ALLOW, 'clone');
  assert.equal(evaluate(p, { nr: 435, arch: AARCH64 }), ENOSYS, 'clone3');
  assert.equal(evaluate(p, { nr: 63, arch: X86_64 }), EPERM, 'foreign architecture');
});

test('the OCI section names the same calls', () => {
  const oci = ociSeccomp('x86_64') as { defaultAction: string; syscalls: Array<{ names: string[]; errnoRet: number; args?: unknown[] }> };
  assert.equal(oci.defaultAction, 'SCMP_ACT_ALLOW');
  const denied = oci.syscalls.find((s) => s.names.includes('open_by_handle_at'))!;
  for (const s of DENIED_SYSCALLS) if (s.x86_64 !== undefined || s.i386 !== undefined) assert.ok(denied.names.includes(s.name), s.name);
  assert.equal(oci.syscalls.filter((s) => s.names[0] === 'clone' && s.args).length, 8);
});
