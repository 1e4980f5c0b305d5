// The --report-path file: images and stages with their status, written on success and on failure
// alike. A failed build has no result to read it from, so the report is folded from the events the
// build emitted (each image's plan arrives with image.start); a successful one adds what only the
// result knows (final names, pushes).
import type { BuildEvent } from '../lib/events.js';

export type ReportStageStatus = 'built' | 'cached' | 'failed' | 'cancelled' | 'not-run';

export interface ReportStage {
  name: string;
  signature: string;
  status: ReportStageStatus;
  durationMs: number;
  reason?: string;
}

export interface ReportImage {
  name: string;
  status: 'done' | 'failed' | 'cancelled';
  final?: { digest: string; ref?: string };
  pushed?: { ref: string; digest: string };
  stages: ReportStage[];
  /** Why an image failed before any stage ran (a base image, the toolchain, its plan). */
  error?: string;
}

export interface ReportError {
  code: string;
  message: string;
  hint?: string;
  exitCode: number;
}

export interface BuildReport {
  status: 'succeeded' | 'failed';
  images: ReportImage[];
  error?: ReportError;
}

export interface SucceededBuild {
  images: Array<{
    name: string;
    final: { digest: string; ref: string };
    pushed?: { ref: string; digest: string };
    stages: Array<{ name: string; signature: string; status: string; durationMs: number; reason?: string }>;
  }>;
}

export interface ReportCollector {
  onEvent(e: BuildEvent): void;
  succeeded(result: SucceededBuild): BuildReport;
  failed(error: ReportError): BuildReport;
}

export function reportCollector(): ReportCollector {
  const images = new Map<string, ReportImage>();
  const imageOf = (name: string): ReportImage => {
    let img = images.get(name);
    if (!img) {
      img = { name, status: 'cancelled', stages: [] };
      images.set(name, img);
    }
    return img;
  };
  const stageOf = (image: string, stage: string, signature = ''): ReportStage => {
    const img = imageOf(image);
    let s = img.stages.find((x) => x.name === stage);
    if (!s) {
      s = { name: stage, signature, status: 'not-run', durationMs: 0 };
      img.stages.push(s);
    }
    return s;
  };
  return {
    onEvent(e) {
      switch (e.type) {
        case 'image.start': {
          const img = imageOf(e.image);
          img.stages = e.stages.map((s) => ({ name: s.stage, signature: s.signature, status: 'not-run', durationMs: 0 }));
          break;
        }
        case 'stage.cached':
          stageOf(e.image, e.stage, e.signature).status = 'cached';
          break;
        case 'stage.start': {
          const s = stageOf(e.image, e.stage, e.signature);
          s.reason = e.reason;
          break;
        }
        case 'stage.built':
          Object.assign(stageOf(e.image, e.stage, e.signature), { status: 'built', durationMs: e.durationMs });
          break;
        case 'stage.failed':
          stageOf(e.image, e.stage).status = 'failed';
          imageOf(e.image).status = 'failed';
          break;
        case 'stage.cancelled':
          stageOf(e.image, e.stage).status = 'cancelled';
          break;
        case 'image.failed': {
          const img = imageOf(e.image);
          img.status = 'failed';
          if (!img.stages.some((s) => s.status === 'failed')) img.error = e.error;
          break;
        }
        case 'image.cancelled':
          imageOf(e.image).status = 'cancelled';
          break;
        case 'image.done': {
          const img = imageOf(e.image);
          img.status = 'done';
          img.final = { digest: e.digest };
          break;
        }
        case 'push.done':
          imageOf(e.image).pushed = { ref: e.ref, digest: e.digest };
          break;
        default:
          break;
      }
    },
    succeeded(result) {
      return {
        status: 'succeeded',
        images: result.images.map((i) => ({
          name: i.name,
          status: 'done',
          final: i.final,
          ...(i.pushed ? { pushed: i.pushed } : {}),
          stages: i.stages.map((s) => ({
            name: s.name,
            signature: s.signature,
            status: s.status as ReportStageStatus,
            durationMs: s.durationMs,
            ...(s.reason ? { reason: s.reason } : {}),
          })),
        })),
      };
    },
    failed(error) {
      return { status: 'failed', images: [...images.values()], error };
    },
  };
}
