// Wires the concrete runtime to the library's contracts: which sandbox (bwrap, runc, crun), which
// snapshotter (overlayfs, or the copying one where overlayfs does not mount), and — for a normal
// user — re-running the command as root of a user namespace first (runtime/userns.ts).
import { join } from 'node:path';
import type { LayoutStore } from '../lib/content/index.js';
import type { Runtime } from '../lib/index.js';
import { TsbuildError } from '../lib/errors.js';
import type { Sandbox } from '../lib/sandbox/index.js';
import { BwrapSandbox } from '../runtime/bwrap-sandbox.js';
import { NativeSnapshotter } from '../runtime/native-snapshotter.js';
import { OciRuntimeSandbox } from '../runtime/oci-runtime-sandbox.js';
import { OverlaySnapshotter, type SnapshotterOptions } from '../runtime/overlay-snapshotter.js';
import { maxLayerBytes } from '../runtime/layer-size-limit.js';
import { runInPrivateMountNamespace, wantsPrivateMounts } from '../runtime/mount-namespace.js';
import { decideIdMode } from '../runtime/probe.js';
import { canMountOverlayCached } from '../runtime/overlay-probe-cache.js';
import { homePaths, type HomePaths } from '../lib/home.js';
import { currentIdFlavor, currentIdMode, runInUserNamespace, stepNamespaceIds, type IdMode } from '../runtime/userns.js';
import { StepNamespace } from '../runtime/step-namespace.js';
import { deferredRuntime } from '../runtime/namespace-deferral.js';
import { canDeferNamespace } from '../runtime/can-defer-namespace.js';
import { chmodSync, mkdirSync } from 'node:fs';

export type SandboxName = 'bwrap' | 'runc' | 'crun';
export type SnapshotterName = 'overlayfs' | 'native';

export interface RuntimeFlags {
  sandbox?: string;
  snapshotter?: string;
  /** --max-layer-size SIZE */
  maxLayerSize?: string;
}

export interface RuntimeChoice {
  sandbox: SandboxName;
  snapshotter: SnapshotterName;
  idMode: IdMode;
  /** Cap on a layer's uncompressed size when unpacked (flag, TSBUILD_MAX_LAYER_SIZE, default). */
  maxLayerBytes?: number;
  /**
   * Root, namespace not entered yet (runtime/namespace-deferral.ts): the runtime refuses every mount
   * and step with RestartInNamespace; the command restarts in the namespace when it needs one.
   */
  deferred?: boolean;
}

type RuntimeWithCleanup = Runtime & {
  snapshotter: { removeAll(): Promise<void> };
  /** A deferred runtime (RuntimeChoice.deferred) was asked to mount or run: the build must restart. */
  readonly restartDue?: boolean;
};

export const SANDBOX_FLAG = ['--sandbox <name>', 'sandbox: bwrap | runc | crun', 'bwrap'] as const;
export const SNAPSHOTTER_FLAG = ['--snapshotter <name>', 'snapshotter: overlayfs | native (default: overlayfs where it mounts)'] as const;
export const MAX_LAYER_SIZE_FLAG = [
  '--max-layer-size <size>',
  'refuse a layer that unpacks to more than SIZE, e.g. 8G (default: $TSBUILD_MAX_LAYER_SIZE or 32G)',
] as const;

/**
 * Decide the runtime for this command. As a normal user this re-runs the whole command inside a user
 * namespace and returns its exit code (`{ exitCode }`: the caller is done); as root, or once inside,
 * it returns the choice to build the runtime from.
 */
export async function prepareRuntime(
  flags: RuntimeFlags,
  warn: (message: string) => void = defaultWarn,
  options: { deferNamespace?: boolean } = {},
): Promise<{ choice: RuntimeChoice } | { exitCode: number }> {
  const sandbox = flags.sandbox ?? 'bwrap';
  if (sandbox !== 'bwrap' && sandbox !== 'runc' && sandbox !== 'crun')
    throw new TsbuildError('TSB_USAGE', `--sandbox must be bwrap, runc or crun (got "${sandbox}")`);
  const wanted = flags.snapshotter;
  if (wanted !== undefined && wanted !== 'overlayfs' && wanted !== 'native') {
    throw new TsbuildError('TSB_USAGE', `--snapshotter must be overlayfs or native (got "${wanted}")`);
  }
  const layerLimit = maxLayerBytes(flags.maxLayerSize);
  let idMode = currentIdMode();
  // Root's build plans first and enters its namespace only for the first stage it builds: no probe
  // (id mode, overlay) until then, as a build with every stage stored needs neither.
  if (idMode === undefined && options.deferNamespace && canDeferNamespace()) {
    return { choice: { sandbox, snapshotter: wanted ?? 'overlayfs', idMode: 'root', maxLayerBytes: layerLimit, deferred: true } };
  }
  if (idMode === undefined) {
    const decision = await decideIdMode();
    if (decision.mode === 'unavailable') {
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `cannot build as a normal user: ${decision.reason}`, {
        hint: `${decision.fix}; \`tsbuild doctor\` checks everything`,
      });
    }
    if (decision.mode === 'root') {
      idMode = 'root';
      if (decision.warning) warn(decision.warning);
    } else {
      if (decision.mode === 'single') warn(decision.warning);
      const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
      return { exitCode: await runInUserNamespace(argv, decision) };
    }
  }
  if (idMode === 'root' && wantsPrivateMounts()) {
    // Mounts die with the build (kill -9 included): the command runs again in its own mount namespace
    // (bin/tsbuild.js has normally done this already, before loading the CLI).
    const exitCode = await runInPrivateMountNamespace([process.execPath, ...process.execArgv, ...process.argv.slice(1)]);
    if (exitCode !== undefined) return { exitCode };
  }
  let snapshotter: SnapshotterName = wanted ?? 'overlayfs';
  const probeCache = join(homePaths().root, 'run', 'overlay-probe.json');
  if (wanted === undefined && !(await canMountOverlayCached(idMode === 'root' ? 'direct' : 'userxattr', probeCache))) {
    snapshotter = 'native';
    warn('overlayfs cannot be mounted here: using the copying snapshotter (--snapshotter native); stages cost time and disk in proportion to the image size');
  }
  return { choice: { sandbox, snapshotter, idMode, maxLayerBytes: layerLimit } };
}

/**
 * As a normal user, re-run this command as uid 0 of its user namespace (as a build does) and return
 * its exit code: what a killed build's steps left belongs to subordinate ids, or to the user with
 * the owner's permission taken away (a step's `chmod 000` dir), which only that uid 0 may remove.
 * undefined: go on in this process (root, already inside, or no namespace to be had).
 */
export async function inBuilderNamespace(): Promise<number | undefined> {
  if (process.getuid?.() === 0 || currentIdMode() !== undefined) return undefined;
  const decision = await decideIdMode();
  if (decision.mode !== 'subuid' && decision.mode !== 'single') return undefined;
  return runInUserNamespace([process.execPath, ...process.execArgv, ...process.argv.slice(1)], decision);
}

export function createRuntime(
  home: HomePaths,
  store: LayoutStore,
  choice: RuntimeChoice = { sandbox: 'bwrap', snapshotter: 'overlayfs', idMode: 'root' },
): RuntimeWithCleanup {
  if (choice.deferred) return deferredRuntime();
  const rootless = choice.idMode !== 'root';
  const options: SnapshotterOptions = {
    rootless,
    chown: choice.idMode !== 'single',
    maxLayerBytes: choice.maxLayerBytes ?? maxLayerBytes(undefined),
    ...(rootless ? { flavor: currentIdFlavor() ?? (choice.idMode === 'single' ? 's' : 'u') } : {}),
  };
  // Unpacked layers may hold setuid files and device nodes: no other user may reach them.
  mkdirSync(home.snapshots, { recursive: true, mode: 0o700 });
  chmodSync(home.snapshots, 0o700);
  const snapshotter =
    choice.snapshotter === 'native' ? new NativeSnapshotter(home.snapshots, store, options) : new OverlaySnapshotter(home.snapshots, store, options);
  // Root's builds (host root mapped in this namespace): steps one namespace further down.
  const ids = stepNamespaceIds();
  const steps = ids !== undefined ? new StepNamespace(ids) : undefined;
  // TSBUILD_BWRAP: a bubblewrap installed elsewhere (default /usr/bin/bwrap).
  const sandbox: Sandbox =
    choice.sandbox === 'bwrap'
      ? new BwrapSandbox(process.env.TSBUILD_BWRAP || undefined, steps)
      : new OciRuntimeSandbox(choice.sandbox, join(home.root, 'run', choice.sandbox), steps);
  return { sandbox, snapshotter };
}

function defaultWarn(message: string): void {
  process.stderr.write(`tsbuild: warning: ${message}\n`);
}
