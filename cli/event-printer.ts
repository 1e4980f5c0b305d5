// Rendering of build events for people (plain lines) and machines (JSON lines).
import type { BuildEvent } from '../lib/events.js';
import { shortSignature } from '../lib/conveyor/index.js';
import { formatSize } from './format.js';

export type LogFormat = 'plain' | 'json';

export function eventPrinter(format: LogFormat, out: NodeJS.WritableStream = process.stderr): (e: BuildEvent) => void {
  if (format === 'json') return (e) => out.write(`${JSON.stringify({ time: new Date().toISOString(), ...e })}\n`);
  const pending = new Map<string, string>();
  return (e) => {
    const ts = new Date().toISOString().slice(11, 19);
    const line = (s: string): void => {
      out.write(`${ts} ${s}\n`);
    };
    switch (e.type) {
      case 'pull.start':
        line(`pull ${e.ref}`);
        break;
      case 'pull.done':
        if (!e.cached) line(`pulled ${e.ref} ${e.digest.slice(0, 19)}`);
        break;
      case 'stage.cached':
        line(`[${e.image || '~'}] ${e.stage.padEnd(18)} cached  ${shortSignature(e.signature)}`);
        break;
      case 'stage.waiting':
        line(`[${e.image || '~'}] ${e.stage.padEnd(18)} waiting for another build of ${e.image || '~'}/${e.stage} ${shortSignature(e.signature)}`);
        break;
      case 'stage.start':
        line(`[${e.image || '~'}] ${e.stage.padEnd(18)} building ${shortSignature(e.signature)} (${e.reason})`);
        break;
      case 'stage.output': {
        const key = `${e.image}/${e.stage}`;
        const text = (pending.get(key) ?? '') + e.chunk;
        const parts = text.split('\n');
        pending.set(key, parts.pop() ?? '');
        for (const p of parts) out.write(`  │ ${p}\n`);
        break;
      }
      case 'stage.built': {
        const key = `${e.image}/${e.stage}`;
        const rest = pending.get(key);
        if (rest) out.write(`  │ ${rest}\n`);
        pending.delete(key);
        line(
          `[${e.image || '~'}] ${e.stage.padEnd(18)} built   ${shortSignature(e.signature)} in ${(e.durationMs / 1000).toFixed(2)}s (${formatSize(e.size)})`,
        );
        break;
      }
      case 'stage.failed':
        line(`[${e.image || '~'}] ${e.stage.padEnd(18)} FAILED`);
        break;
      case 'stage.cancelled':
        line(`[${e.image || '~'}] ${e.stage.padEnd(18)} cancelled (another image failed)`);
        break;
      case 'image.cancelled':
        line(`[${e.image || '~'}] cancelled: another image failed`);
        break;
      case 'push.start':
        line(`push ${e.ref}`);
        break;
      case 'push.done':
        line(`pushed ${e.ref}@${e.digest}`);
        break;
      case 'warning':
        line(`warning: ${e.message}`);
        break;
      case 'stapel.progress':
        line(`stapel: ${e.message}`);
        break;
      default:
        break;
    }
  };
}
