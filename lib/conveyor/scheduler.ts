// Runs one task per image in dependency order: independent images at the same time (--parallel),
// an image after the images it needs. The first failure stops the rest: tasks still running see
// their signal abort and tasks not started never start; both are reported as cancelled.
import type { ImageSpec } from '../config/index.js';
import { TsbuildError } from '../errors.js';

export interface ScheduleOptions {
  /** Images worked on at the same time (default 2). */
  parallel?: number;
  signal?: AbortSignal | undefined;
  /** An image stopped or never started because another image failed. */
  onCancelled?: (imageName: string) => void;
  /** An image failed on its own (not because another one did). */
  onFailed?: (imageName: string, error: unknown) => void;
}

export interface TaskControl {
  signal: AbortSignal;
  /** True once another image failed (this task's abort is fallout, not a failure of its own). */
  cancelled(): boolean;
}

export async function schedule<T>(
  order: readonly ImageSpec[],
  dependenciesOf: (image: ImageSpec) => string[],
  task: (image: ImageSpec, control: TaskControl) => Promise<T>,
  options: ScheduleOptions = {},
): Promise<Map<string, T>> {
  const failure = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failure.signal]) : failure.signal;
  const control: TaskControl = { signal, cancelled: () => failure.signal.aborted && !options.signal?.aborted };
  const slots = semaphore(Math.max(1, options.parallel ?? 2));
  const running = new Map<string, Promise<T>>();
  const results = new Map<string, T>();
  let first: { error: unknown } | undefined;
  for (const image of order) {
    const deps = dependenciesOf(image)
      .map((d) => running.get(d))
      .filter((p): p is Promise<T> => p !== undefined);
    running.set(
      image.name,
      (async () => {
        try {
          await Promise.all(deps);
        } catch {
          throw new TsbuildError('TSB_ABORTED', `image "${image.name || '~'}" was not built: an image it needs failed`);
        }
        const result = await slots(async () => {
          signal.throwIfAborted();
          return task(image, control);
        });
        results.set(image.name, result);
        return result;
      })().catch((err: unknown) => {
        // Whatever fails once another image failed is the fallout of stopping it: cancelled.
        if (control.cancelled()) options.onCancelled?.(image.name);
        else {
          if (!options.signal?.aborted) options.onFailed?.(image.name, err);
          first ??= { error: err };
          if (!options.signal?.aborted) failure.abort(new TsbuildError('TSB_ABORTED', `stopped: image "${image.name || '~'}" failed`));
        }
        throw err;
      }),
    );
  }
  await Promise.allSettled(running.values());
  if (first) throw first.error;
  return results;
}

/** At most `n` tasks at a time. */
function semaphore(n: number): <T>(task: () => Promise<T>) => Promise<T> {
  let active = 0;
  const queue: Array<() => void> = [];
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => queue.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      active--;
      queue.shift()?.();
    }
  };
}
