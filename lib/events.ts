// The events the library emits while it works; the CLI renders them (plain lines, TTY, or JSON).

export type BuildEvent =
  /** The image's plan: every stage it has, in conveyor order (the stored ones first come as stage.cached). */
  | { type: 'image.start'; image: string; stages: Array<{ stage: string; signature: string }> }
  /** The image failed before or while building a stage (its own failure, not another image's). */
  | { type: 'image.failed'; image: string; error: string }
  | { type: 'image.done'; image: string; digest: string }
  | { type: 'pull.start'; ref: string }
  | { type: 'pull.done'; ref: string; digest: string; cached: boolean }
  | { type: 'stage.cached'; image: string; stage: string; signature: string }
  | { type: 'stage.start'; image: string; stage: string; signature: string; reason: string }
  /** Another build of this home is building the same stage: this one waits, then reuses its result. */
  | { type: 'stage.waiting'; image: string; stage: string; signature: string }
  | { type: 'stage.output'; image: string; stage: string; chunk: string }
  | { type: 'stage.built'; image: string; stage: string; signature: string; durationMs: number; size: number }
  | { type: 'stage.failed'; image: string; stage: string; error: string }
  /** The stage was stopped because another image of the build failed (not a failure of its own). */
  | { type: 'stage.cancelled'; image: string; stage: string }
  /** The image was not built (or not finished) because another image of the build failed. */
  | { type: 'image.cancelled'; image: string }
  | { type: 'push.start'; image: string; ref: string }
  | { type: 'push.done'; image: string; ref: string; digest: string }
  /** `file`/`line`: where in the config the problem was written (also at the start of the message). */
  | { type: 'warning'; message: string; file?: string; line?: number }
  /** The first ansible build on a machine makes the stapel toolchain: one line per step. */
  | { type: 'stapel.progress'; message: string }
  /**
   * Written by the CLI (never emitted by the library) when the command fails: the error it exits
   * with, the same fields as `--report-path`'s "error".
   */
  | { type: 'error'; code: string; message: string; hint?: string; exitCode: number }
  /** Byte progress of one blob of a pull (base image, stage layers) or push (stages, final images); throttled. */
  | { type: 'transfer'; direction: 'pull' | 'push'; ref: string; digest: string; phase: TransferPhase; bytes: number; total: number };

export type TransferPhase = 'transferring' | 'done' | 'skipped' | 'mounted';

export type EventSink = (event: BuildEvent) => void;

/**
 * An onProgress callback for the registry client that emits `transfer` events: every phase change,
 * and while transferring at most one event per blob every `intervalMs`.
 */
export function transferEvents(
  direction: 'pull' | 'push',
  ref: string,
  sink: EventSink,
  intervalMs = 200,
): (p: { digest: string; phase: TransferPhase; bytes: number; total: number }) => void {
  const last = new Map<string, number>();
  return (p) => {
    if (p.phase === 'transferring') {
      const now = Date.now();
      if (now - (last.get(p.digest) ?? 0) < intervalMs) return;
      last.set(p.digest, now);
    } else last.delete(p.digest);
    sink({ type: 'transfer', direction, ref, digest: p.digest, phase: p.phase, bytes: p.bytes, total: p.total });
  };
}
