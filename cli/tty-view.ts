// The live view on a terminal: one line per image and stage (cached / building with elapsed time /
// built with size), byte progress of pulls and pushes, the building stage's last output lines. An
// image that is done is printed once above the live region and leaves it; a failed stage's last
// output lines stay on screen.
import type { BuildEvent } from '../lib/events.js';
import { shortSignature } from '../lib/conveyor/index.js';
import { formatSize } from './format.js';

const ESC = '\x1b[';
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;
const TAIL_LINES = 6;
const FAILED_TAIL_LINES = 20;

interface StageRow {
  stage: string;
  signature: string;
  state: 'cached' | 'building' | 'built' | 'failed' | 'cancelled';
  started: number;
  durationMs?: number;
  size?: number;
  reason?: string;
  tail: string[];
  partial: string;
}

interface ImageRow {
  name: string;
  state: 'planning' | 'running' | 'done' | 'failed' | 'cancelled';
  started: number;
  stages: StageRow[];
  digest?: string;
}

interface Transfer {
  direction: 'pull' | 'push';
  ref: string;
  blobs: Map<string, { bytes: number; total: number; phase: string }>;
}

export interface TtyView {
  onEvent(e: BuildEvent): void;
  /** Stop redrawing and leave whatever is still live on screen (before the summary or an error). */
  close(): void;
}

export function ttyView(out: NodeJS.WriteStream = process.stderr, now: () => number = Date.now): TtyView {
  const images = new Map<string, ImageRow>();
  const transfers = new Map<string, Transfer>();
  const notes: string[] = [];
  let drawn = 0;
  let closed = false;
  const width = (): number => Math.max(40, (out.columns || 100) - 1);
  // Lines never wrap: the cursor arithmetic of the redraw counts one row per line.
  const fit = (s: string): string => {
    const plain = s.replace(ANSI, '');
    return plain.length > width() ? `${plain.slice(0, width() - 1)}…` : s;
  };
  const secs = (ms: number): string => `${(ms / 1000).toFixed(1)}s`;

  const stageLine = (img: ImageRow, s: StageRow): string => {
    const head = `  ${s.stage.padEnd(20)} ${shortSignature(s.signature)}`;
    switch (s.state) {
      case 'cached':
        return `${head}  ${dim('cached')}`;
      case 'building':
        return `${head}  ${cyan(`building ${secs(now() - s.started)}`)}${s.reason ? dim(`  ${s.reason}`) : ''}`;
      case 'built':
        return `${head}  ${green(`built ${secs(s.durationMs ?? 0)}`)} ${formatSize(s.size ?? 0)}`;
      case 'failed':
        return `${head}  ${red(`FAILED after ${secs(now() - s.started)}`)} ${dim(`(image ${img.name || '~'})`)}`;
      case 'cancelled':
        return `${head}  ${dim(`cancelled after ${secs(now() - s.started)} (another image failed)`)}`;
    }
  };
  const imageLines = (img: ImageRow, live: boolean): string[] => {
    const state =
      img.state === 'planning'
        ? dim('planning')
        : img.state === 'running'
          ? cyan(secs(now() - img.started))
          : img.state === 'done'
            ? green(`done ${(img.digest ?? '').slice(7, 19)}`)
            : img.state === 'cancelled'
              ? dim('cancelled')
              : red('failed');
    const lines = [`${bold(`[${img.name || '~'}]`)} ${state}`];
    for (const s of img.stages) {
      lines.push(stageLine(img, s));
      if ((s.state === 'building' && live) || s.state === 'failed') {
        const tail = [...s.tail, ...(s.partial ? [s.partial] : [])].slice(s.state === 'failed' ? -FAILED_TAIL_LINES : -TAIL_LINES);
        for (const t of tail) lines.push(dim(`    │ ${t}`));
      }
    }
    return lines;
  };
  const transferLine = (t: Transfer): string => {
    let bytes = 0;
    let total = 0;
    for (const b of t.blobs.values()) {
      bytes += b.phase === 'transferring' ? b.bytes : b.total;
      total += b.total;
    }
    const pct = total > 0 ? Math.floor((bytes / total) * 100) : 0;
    const barWidth = 20;
    const filled = Math.round((pct / 100) * barWidth);
    return `${t.direction} ${t.ref}  [${'='.repeat(filled)}${' '.repeat(barWidth - filled)}] ${formatSize(bytes)} / ${formatSize(total)}`;
  };

  const clear = (): void => {
    if (drawn > 0) out.write(`${ESC}${drawn}A\r${ESC}J`);
    drawn = 0;
  };
  const draw = (): void => {
    if (closed) return;
    const lines: string[] = [];
    for (const t of transfers.values()) lines.push(transferLine(t));
    for (const img of images.values()) lines.push(...imageLines(img, true));
    clear();
    let text = '';
    for (const n of notes.splice(0)) text += `${n}\n`;
    for (const l of lines) text += `${fit(l)}\n`;
    out.write(text);
    drawn = lines.length;
  };
  /** Print lines once above the live region (they scroll with the terminal). */
  const commit = (lines: string[]): void => {
    for (const l of lines) notes.push(l);
  };
  let dirty = true;
  const timer = setInterval(() => {
    // Elapsed times tick while something runs; otherwise redraw only after a change.
    if (dirty || images.size > 0 || transfers.size > 0) draw();
    dirty = false;
  }, 100);
  timer.unref();
  out.write(`${ESC}?25l`); // hide the cursor while redrawing

  const stageOf = (image: string, stage: string): StageRow | undefined => images.get(image)?.stages.find((s) => s.stage === stage);
  // The row shown while waiting for another build of the same stage gives way to the real one.
  const dropWaiting = (image: string, stage: string): void => {
    const img = images.get(image);
    if (img) img.stages = img.stages.filter((s) => s.stage !== stage);
  };

  return {
    onEvent(e) {
      switch (e.type) {
        case 'image.start':
          images.set(e.image, { name: e.image, state: 'running', started: now(), stages: [] });
          break;
        case 'stage.waiting':
          images.get(e.image)?.stages.push({
            stage: e.stage,
            signature: e.signature,
            state: 'building',
            started: now(),
            reason: `waiting for another build of ${e.image || '~'}/${e.stage}`,
            tail: [],
            partial: '',
          });
          break;
        case 'stage.cached':
          dropWaiting(e.image, e.stage);
          images.get(e.image)?.stages.push({ stage: e.stage, signature: e.signature, state: 'cached', started: now(), tail: [], partial: '' });
          break;
        case 'stage.start':
          dropWaiting(e.image, e.stage);
          images
            .get(e.image)
            ?.stages.push({ stage: e.stage, signature: e.signature, state: 'building', started: now(), reason: e.reason, tail: [], partial: '' });
          break;
        case 'stage.output': {
          const s = stageOf(e.image, e.stage);
          if (!s) break;
          const parts = (s.partial + e.chunk).replace(/\r/g, '').split('\n');
          s.partial = parts.pop() ?? '';
          s.tail.push(...parts);
          if (s.tail.length > FAILED_TAIL_LINES) s.tail.splice(0, s.tail.length - FAILED_TAIL_LINES);
          break;
        }
        case 'stage.built': {
          const s = stageOf(e.image, e.stage);
          if (s) Object.assign(s, { state: 'built', durationMs: e.durationMs, size: e.size });
          break;
        }
        case 'stage.failed': {
          const img = images.get(e.image);
          const s = stageOf(e.image, e.stage);
          if (s) s.state = 'failed';
          if (img) {
            img.state = 'failed';
            commit(imageLines(img, false));
            images.delete(e.image);
          }
          break;
        }
        case 'stage.cancelled': {
          const s = stageOf(e.image, e.stage);
          if (s) s.state = 'cancelled';
          break;
        }
        case 'image.cancelled': {
          const img = images.get(e.image);
          if (img) {
            img.state = 'cancelled';
            commit(imageLines(img, false));
            images.delete(e.image);
          }
          break;
        }
        case 'image.done': {
          const img = images.get(e.image);
          if (img) {
            img.state = 'done';
            img.digest = e.digest;
            commit(imageLines(img, false));
            images.delete(e.image);
          }
          break;
        }
        case 'pull.start':
          transfers.set(`pull ${e.ref}`, { direction: 'pull', ref: e.ref, blobs: new Map() });
          break;
        case 'pull.done':
          transfers.delete(`pull ${e.ref}`);
          if (!e.cached) commit([`pulled ${e.ref} ${dim(e.digest.slice(0, 19))}`]);
          break;
        case 'transfer': {
          const key = `${e.direction} ${e.ref}`;
          let t = transfers.get(key);
          if (!t) {
            t = { direction: e.direction, ref: e.ref, blobs: new Map() };
            transfers.set(key, t);
          }
          t.blobs.set(e.digest, { bytes: e.bytes, total: e.total, phase: e.phase });
          // Stage pushes and layer fetches have no done event of their own: a transfer row lasts while a blob moves.
          if (e.phase !== 'transferring' && [...t.blobs.values()].every((b) => b.phase !== 'transferring')) transfers.delete(key);
          break;
        }
        case 'push.start':
          transfers.set(`push ${e.ref}`, { direction: 'push', ref: e.ref, blobs: new Map() });
          break;
        case 'push.done':
          transfers.delete(`push ${e.ref}`);
          commit([`pushed ${e.ref}@${e.digest}`]);
          break;
        case 'warning':
          commit([`${yellow('warning:')} ${e.message}`]);
          break;
        case 'stapel.progress':
          commit([`${dim('stapel:')} ${e.message}`]);
          break;
        default:
          break;
      }
      dirty = true;
    },
    close() {
      if (closed) return;
      clearInterval(timer);
      draw();
      closed = true;
      out.write(`${ESC}?25h`);
    },
  };
}

const sgr =
  (code: string) =>
  (s: string): string =>
    `${ESC}${code}m${s}${ESC}0m`;
const dim = sgr('2');
const bold = sgr('1');
const red = sgr('31');
const green = sgr('32');
const yellow = sgr('33');
const cyan = sgr('36');
