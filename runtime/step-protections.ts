// What `tsbuild doctor` says about the walls around a build step: the user namespace mapping, the
// seccomp filter and the capability set, each active or missing with the reason and the fix.
import { STEP_CAPABILITIES, capabilityMask } from './capabilities.js';
import type { IdModeDecision, ProbeCheck } from './probe-types.js';
import { DENIED_SYSCALLS } from './seccomp-syscalls.js';
import { hostSeccompArch } from './seccomp.js';

export interface StepProtections {
  /** How step ids map to the host, or why they do not. */
  userNamespace: { active: boolean; detail: string };
  seccomp: { active: boolean; arch?: string; deniedSyscalls: number; detail: string };
  capabilities: { names: string[]; capEff: string; namespaced: boolean };
}

export function stepProtections(idMode: IdModeDecision, uid: number): { protections: StepProtections; checks: ProbeCheck[] } {
  const arch = hostSeccompArch();
  const denied = arch ? DENIED_SYSCALLS.filter((s) => s[arch] !== undefined).length : 0;
  let ns: StepProtections['userNamespace'];
  if (idMode.mode === 'subuid' && idMode.hostRoot) {
    ns = {
      active: true,
      detail: `steps run as uid 0 of a user namespace mapping 0..${idMode.subuid.count - 1} to host uids ${idMode.subuid.start}+${idMode.subuid.count} (${idMode.hostRoot.source}); host root is not mapped in a step`,
    };
  } else if (idMode.mode === 'subuid') {
    ns = {
      active: true,
      detail: `steps run as uid 0 of a user namespace mapping it to your uid ${uid} and 1..${idMode.subuid.count} to ${idMode.subuid.start}+${idMode.subuid.count}`,
    };
  } else if (idMode.mode === 'single') {
    ns = { active: true, detail: `steps run as uid 0 of a user namespace mapping only your uid ${uid}` };
  } else if (idMode.mode === 'root') {
    ns = { active: false, detail: idMode.warning ?? 'steps run as host root' };
  } else {
    ns = { active: false, detail: idMode.reason };
  }
  const protections: StepProtections = {
    userNamespace: ns,
    seccomp: arch
      ? {
          active: true,
          arch,
          deniedSyscalls: denied,
          detail: `tsbuild's filter on every step (${arch}${arch === 'x86_64' ? ' and i386' : ''}): ${denied} calls refused with EPERM (open_by_handle_at, mount, unshare, setns, bpf, keyctl, ptrace…), clone with namespace flags refused`,
        }
      : { active: false, deniedSyscalls: 0, detail: `no syscall table for ${process.arch}: steps run without a seccomp filter` },
    capabilities: { names: [...STEP_CAPABILITIES], capEff: capabilityMask(), namespaced: ns.active },
  };
  const checks: ProbeCheck[] = [
    {
      name: 'step user namespace',
      ok: ns.active,
      detail: ns.detail,
      ...(ns.active
        ? {}
        : {
            fix:
              idMode.mode === 'unavailable'
                ? idMode.fix
                : 'sysctl -w user.max_user_namespaces=15000, or give root its own range: usermod --add-subuids 2000000000-2000065535 --add-subgids 2000000000-2000065535 root',
          }),
    },
    { name: 'step seccomp', ok: protections.seccomp.active, detail: protections.seccomp.detail, ...(arch ? {} : { fix: 'run tsbuild on x86_64 or aarch64' }) },
    {
      name: 'step capabilities',
      ok: true,
      detail: `${ns.active ? "in the step's user namespace only" : 'AS HOST ROOT'}: ${STEP_CAPABILITIES.map((c) => c.replace(/^CAP_/, '')).join(', ')} (CapEff ${protections.capabilities.capEff}); none for a step running as another user`,
    },
  ];
  return { protections, checks };
}
