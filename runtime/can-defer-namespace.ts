// Whether root's build may plan before entering its namespace (namespace-deferral.ts), and whether it
// is worth it (settled-builds.ts). A file of its own, importing only that one: bin/tsbuild.js asks it
// before loading the CLI.
import { readFileSync } from 'node:fs';
import { expectsStageToBuild } from './settled-builds.js';

/**
 * Capabilities both sides need over the other's files: DAC override and read-search (modes), FOWNER
 * (chmod, utimes, sticky dirs), CHOWN. In the caller's effective set (host root handles the builder's
 * files) and bounding set (the builder gets no more than that in its namespace).
 */
const NEEDED = [0, 1, 2, 3]; // CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER

function hasCapabilities(status: string): boolean {
  const mask = (name: string): bigint => BigInt(`0x${new RegExp(`^${name}:\\s*([0-9a-f]+)$`, 'm').exec(status)?.[1] ?? '0'}`);
  const eff = mask('CapEff');
  const bnd = mask('CapBnd');
  return NEEDED.every((c) => (eff & bnd & (1n << BigInt(c))) !== 0n);
}

export function userNamespacesEnabled(): boolean {
  try {
    return Number(readFileSync('/proc/sys/user/max_user_namespaces', 'utf8')) > 0;
  } catch {
    return false;
  }
}

/**
 * Whether this root process may plan the build before entering its namespace: root, no namespace
 * entered or decided yet, the capabilities above, and some namespace to enter at all; and whether it
 * should: not when the build most likely builds a stage (settled-builds.ts), as the plan would be
 * made again in the namespace. Cheap: no process is started (the `unshare` probe of decideIdMode runs
 * only when a restart is due).
 */
export function canDeferNamespace(env: NodeJS.ProcessEnv = process.env): boolean {
  // TSBUILD_ID_MODE, TSBUILD_MOUNT_NS: set in a process that is in its namespace (userns.ts, mount-namespace.ts).
  if (process.getuid?.() !== 0 || env.TSBUILD_ID_MODE || env.TSBUILD_MOUNT_NS) return false;
  if (!userNamespacesEnabled() && env.TSBUILD_PRIVATE_MOUNTS === '0') return false;
  try {
    if (!hasCapabilities(readFileSync('/proc/self/status', 'utf8'))) return false;
  } catch {
    return false;
  }
  return !expectsStageToBuild();
}
