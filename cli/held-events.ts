// The events of a root build that plans before entering its namespace (runtime/namespace-deferral.ts)
// are held: if the build restarts in the namespace, the restarted one says them again (image.start,
// stage.cached, warnings, pushes it repeats), so each line is printed once. Pulls are shown as they
// happen (they can be long and are not repeated once done); a pull the restart cuts short is named
// to the restarted build (SHOWN_PULLS_ENV), which then does not print its "pull" line again.
import type { BuildEvent } from '../lib/events.js';

/** Refs whose `pull` line a restarted build's parent printed already (JSON array). */
export const SHOWN_PULLS_ENV = 'TSBUILD_SHOWN_PULLS';

export interface EventHold {
  onEvent(e: BuildEvent): void;
  /** The build went on here: print what was held, in order. */
  flush(): void;
  /** The build restarts: drop what was held; the environment entries the restarted build needs. */
  drop(): Record<string, string>;
}

export function holdEvents(print: (e: BuildEvent) => void): EventHold {
  let held: BuildEvent[] | undefined = [];
  const pulling = new Set<string>();
  return {
    onEvent(e) {
      if (!held) return print(e);
      if (e.type === 'pull.start') pulling.add(e.ref);
      if (e.type === 'pull.done') pulling.delete(e.ref);
      if (e.type === 'transfer' || e.type === 'pull.start' || (e.type === 'pull.done' && !e.cached)) return print(e);
      held.push(e);
    },
    flush() {
      const events = held ?? [];
      held = undefined;
      for (const e of events) print(e);
    },
    drop() {
      held = undefined;
      return pulling.size > 0 ? { [SHOWN_PULLS_ENV]: JSON.stringify([...pulling]) } : {};
    },
  };
}

/** In the restarted build: skip the first `pull.start` of each ref its parent printed already. */
export function skipShownPulls(print: (e: BuildEvent) => void, env: NodeJS.ProcessEnv = process.env): (e: BuildEvent) => void {
  let shown: Set<string>;
  try {
    shown = new Set(env[SHOWN_PULLS_ENV] ? (JSON.parse(env[SHOWN_PULLS_ENV]) as string[]) : []);
  } catch {
    shown = new Set();
  }
  if (shown.size === 0) return print;
  return (e) => {
    if (e.type === 'pull.start' && shown.delete(e.ref)) return;
    print(e);
  };
}
