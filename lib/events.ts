// The events the library emits while it works; the CLI renders them (plain lines, TTY, or JSON).
export type StageStatus = 'cached' | 'built';

export type BuildEvent =
  | { type: 'image.start'; image: string }
  | { type: 'image.done'; image: string; digest: string }
  | { type: 'pull.start'; ref: string }
  | { type: 'pull.done'; ref: string; digest: string; cached: boolean }
  | { type: 'stage.cached'; image: string; stage: string; signature: string }
  | { type: 'stage.start'; image: string; stage: string; signature: string; reason: string }
  | { type: 'stage.output'; image: string; stage: string; chunk: string }
  | { type: 'stage.built'; image: string; stage: string; signature: string; durationMs: number; size: number }
  | { type: 'stage.failed'; image: string; stage: string; error: string }
  | { type: 'push.start'; image: string; ref: string }
  | { type: 'push.done'; image: string; ref: string; digest: string }
  | { type: 'warning'; message: string };

export type EventSink = (event: BuildEvent) => void;
