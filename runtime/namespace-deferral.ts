// As root, `tsbuild build` runs its steps in a user namespace (userns.ts, issue 14) or, where there
// are none, in a private mount namespace (mount-namespace.ts): both are a re-execution of the whole
// command (a second node start, modules, config, git). A build whose stages are all stored mounts
// nothing and runs nothing, so root's build enters the namespace only when the first stage is to be
// built or waited for: until then it plans in this process, and the runtime it is given refuses
// every mount and every step (RestartInNamespace). The build command then runs again in the
// namespace and this process only waits for it.
//
// What this process may do before that, as host root: read the config and git, look stages up,
// pull base images and write the store and home. The builder in the namespace is uid 0 there with
// host root mapped (HOST_ROOT_IN_NAMESPACE), so with the capabilities checked by canDeferNamespace()
// it may read and replace what host root wrote, and host root may anything of the builder's.
import type { Sandbox, Snapshotter } from '../lib/sandbox/index.js';
import { runInPrivateMountNamespace, wantsPrivateMounts, MOUNT_NS_ENV } from './mount-namespace.js';
import { decideIdMode } from './probe.js';
import { builderGitEnv, runInUserNamespace } from './userns.js';
import { userNamespacesEnabled } from './can-defer-namespace.js';

/** Thrown when the build must go on in its namespace: nothing has been mounted or run yet. */
export class RestartInNamespace extends Error {
  constructor(what: string) {
    super(`the build continues in its own namespace (${what})`);
    this.name = 'RestartInNamespace';
  }
}

/** Whether `err` (or what caused it) is the restart signal. */
export function isRestartInNamespace(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RestartInNamespace) return true;
    if (e instanceof AggregateError && e.errors.some(isRestartInNamespace)) return true;
  }
  return false;
}

export interface DeferredRuntime {
  sandbox: Sandbox;
  snapshotter: Snapshotter & { removeAll(): Promise<void> };
  /** Set once anything asked for a mount or a step (also if the caller swallowed the error). */
  readonly restartDue: boolean;
}

/**
 * The runtime of a build that has not entered its namespace: every snapshot and every step throws
 * RestartInNamespace (and records that it did, so a caller that catches the error cannot go on
 * without the namespace); removing is a no-op (nothing was made).
 */
export function deferredRuntime(): DeferredRuntime {
  let due = false;
  const restart = (what: string): never => {
    due = true;
    throw new RestartInNamespace(what);
  };
  return {
    get restartDue() {
      return due;
    },
    sandbox: {
      name: 'deferred',
      run: async () => restart('a step'),
    },
    snapshotter: {
      name: 'deferred',
      prepare: async () => restart('a snapshot'),
      commit: async () => restart('a commit'),
      remove: async () => undefined,
      removeAll: async () => undefined,
    },
  };
}

/**
 * Run this command again in root's namespace: the user namespace when the kernel gives one (the
 * decision of issue 14, made now), else a private mount namespace. Resolves with its exit code, or
 * with undefined when neither can be made (the caller builds in this process; MOUNT_NS_ENV is then
 * set, so it does not defer again).
 */
export async function restartInNamespace(argv: string[] = [process.execPath, ...process.execArgv, ...process.argv.slice(1)]): Promise<number | undefined> {
  const decision = await decideIdMode();
  if (decision.mode === 'subuid') return runInUserNamespace(argv, decision);
  if (wantsPrivateMounts()) {
    const code = await runInPrivateMountNamespace(argv);
    if (code !== undefined) return code;
  }
  process.env[MOUNT_NS_ENV] ||= 'unavailable';
  return undefined;
}

/**
 * The environment of git as the builder in root's namespace gets it (safe.directory), for this
 * process while it plans; returns a function that restores the previous values (the restart builds
 * the namespace's environment from them).
 */
export function useBuilderGitEnv(): () => void {
  if (!userNamespacesEnabled()) return () => undefined;
  const env = builderGitEnv();
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return () => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}
