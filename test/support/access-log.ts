// Requests a test registry answered, read from its access log (the request counter of the e2e tests).
import { readFile } from 'node:fs/promises';
import type { RunningRegistry } from './registry.js';

export interface LoggedRequest {
  method: string;
  uri: string;
  /** The client's address:port: one per connection. */
  remote: string;
}

/** Where the log ends now: pass it to requestsSince to see only later requests. */
export async function logOffset(registry: RunningRegistry): Promise<number> {
  return (await readFile(registry.logPath, 'utf8')).length;
}

export async function requestsSince(registry: RunningRegistry, offset: number): Promise<LoggedRequest[]> {
  const text = (await readFile(registry.logPath, 'utf8')).slice(offset);
  const out: LoggedRequest[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes('response completed')) continue; // includes 'response completed with error'
    const method = /http\.request\.method=(\w+)/.exec(line)?.[1];
    const m = /http\.request\.uri=(?:"([^"]+)"|(\S+))/.exec(line);
    const uri = m?.[1] ?? m?.[2];
    const remote = /http\.request\.remoteaddr="?([^"\s]+)/.exec(line)?.[1] ?? '';
    if (method && uri) out.push({ method, uri, remote });
  }
  return out;
}
