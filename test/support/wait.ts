// Waiting for a condition in tests: poll until it holds. The limit is a hang guard, never a speed
// bar: a kernel reaping a killed process group or a daemon starting on a loaded machine may take
// seconds, but only something that never happens reaches two minutes.
import { setTimeout as sleep } from 'node:timers/promises';

export const WAIT_GUARD_MS = 120_000;

/** Resolve once `check` holds; throw `what` if it still does not after `guardMs` (a hang). */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, guardMs = WAIT_GUARD_MS): Promise<void> {
  const deadline = Date.now() + guardMs;
  for (let pause = 5; !(await check()); pause = Math.min(pause * 2, 100)) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${guardMs} ms`);
    await sleep(pause);
  }
}

/** Resolve once Date.now() has moved past its value at the call (for tests that need a later timestamp). */
export async function clockTick(): Promise<void> {
  const t = Date.now();
  await waitUntil(() => Date.now() > t, 'the clock advances');
}
