// One long-lived `git cat-file --batch` per repository: blob reads, commit reads and revision
// lookups (`HEAD^{commit}`) are pipelined over its stdin instead of paying a process start each.
// Replies come back in request order.
import type { ChildProcess } from 'node:child_process';
import { TsbuildError } from '../errors.js';
import { spawnGit, type GitRunOptions } from './git-command.js';

/** An object as `cat-file --batch` names it: its id, type and content. */
export interface GitObject {
  oid: string;
  type: string;
  data: Buffer;
}

interface Pending {
  oid: string;
  /** 'blob': resolve the content, reject anything else; 'any': resolve the object, or undefined when missing. */
  kind: 'blob' | 'any';
  resolve: (value: Buffer | GitObject | undefined) => void;
  reject: (err: Error) => void;
}

export class BlobReader {
  private child: ChildProcess | undefined;
  private readonly queue: Pending[] = [];
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Size of the reply body being read (plus its trailing LF), or -1 while reading a header. */
  private need = -1;
  private closed = false;
  private stderr = '';

  constructor(private readonly location: GitRunOptions['location']) {}

  read(oid: string): Promise<Buffer> {
    if (this.closed) return Promise.reject(new TsbuildError('TSB_INTERNAL', 'git repository handle used after close()'));
    if (!/^[0-9a-f]{40,64}$/.test(oid)) return Promise.reject(new TsbuildError('TSB_INTERNAL', `not an object id: ${oid}`));
    return this.request(oid, 'blob') as Promise<Buffer>;
  }

  /**
   * Any object by a revision expression (`<oid>`, `HEAD^{commit}`, `v1^{tree}`); undefined when it
   * names nothing (missing or ambiguous).
   */
  object(rev: string): Promise<GitObject | undefined> {
    if (this.closed) return Promise.reject(new TsbuildError('TSB_INTERNAL', 'git repository handle used after close()'));
    if (rev === '' || /[\n\r\0]/.test(rev)) return Promise.resolve(undefined);
    return this.request(rev, 'any') as Promise<GitObject | undefined>;
  }

  private request(oid: string, kind: Pending['kind']): Promise<Buffer | GitObject | undefined> {
    const child = this.start();
    return new Promise((resolve, reject) => {
      this.queue.push({ oid, kind, resolve, reject });
      this.setRef(true);
      child.stdin?.write(`${oid}\n`);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    this.setRef(true); // keep the event loop alive until git has exited
    this.child = undefined;
    const done = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('close', () => resolve());
    });
    child.stdin?.end();
    await done;
  }

  private start(): ChildProcess {
    if (this.child) return this.child;
    const child = spawnGit(['cat-file', '--batch'], { location: this.location });
    this.child = child;
    child.stdout?.on('data', (c: Buffer) => this.onData(c));
    child.stderr?.on('data', (c: Buffer) => (this.stderr = (this.stderr + c.toString('utf8')).slice(-2000)));
    child.stdin?.on('error', () => undefined);
    child.on('error', (e) => this.fail(new TsbuildError('TSB_GIT_COMMAND', `git cat-file --batch: ${e.message}`, { cause: e })));
    child.on('close', (code) => {
      if (this.child === child) this.child = undefined;
      if (this.queue.length > 0) {
        this.fail(new TsbuildError('TSB_GIT_COMMAND', `git cat-file --batch exited (${code}) with reads pending: ${this.stderr.trim()}`));
      }
    });
    this.setRef(false);
    return child;
  }

  /** An idle reader must not keep the process alive (callers forgetting close() would hang). */
  private setRef(on: boolean): void {
    const child = this.child;
    if (!child) return;
    for (const s of [child, child.stdout, child.stdin, child.stderr] as Array<{ ref?: () => void; unref?: () => void } | null>) {
      if (on) s?.ref?.();
      else s?.unref?.();
    }
  }

  private fail(err: Error): void {
    for (const p of this.queue.splice(0)) p.reject(err);
    this.chunks = [];
    this.buffered = 0;
    this.need = -1;
  }

  private onData(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    for (;;) {
      if (this.need < 0) {
        const buf = this.take(this.buffered, false);
        const lf = buf.indexOf(10);
        if (lf < 0) return;
        const header = buf.toString('utf8', 0, lf);
        this.putBack(buf.subarray(lf + 1));
        const pending = this.queue[0];
        const parts = header.split(' ');
        if (parts[1] === 'missing' || parts[1] === 'ambiguous' || parts.length !== 3) {
          this.queue.shift();
          if (pending?.kind === 'any') {
            pending.resolve(undefined);
            if (this.queue.length === 0) this.setRef(false);
            continue;
          }
          pending?.reject(
            new TsbuildError('TSB_GIT_NOT_FOUND', `git object ${pending?.oid ?? parts[0]} is missing from the repository`, {
              hint: 'the repository is incomplete (shallow or partial clone?); fetch the full history and retry',
            }),
          );
          continue;
        }
        if (parts[1] !== 'blob' && pending?.kind !== 'any') {
          this.queue.shift();
          pending?.reject(new TsbuildError('TSB_INTERNAL', `git object ${parts[0]} is a ${parts[1]}, not a blob`));
          // Its body still follows: read and drop it.
          this.need = Number(parts[2]) + 1;
          this.dropNext = true;
          continue;
        }
        this.need = Number(parts[2]) + 1;
        this.header = { oid: parts[0] ?? '', type: parts[1] ?? '' };
      }
      if (this.buffered < this.need) return;
      const body = this.take(this.need, true);
      const size = this.need - 1;
      this.need = -1;
      if (this.dropNext) {
        this.dropNext = false;
        continue;
      }
      const pending = this.queue.shift();
      const data = body.subarray(0, size);
      pending?.resolve(pending.kind === 'any' ? { ...this.header, data } : data);
      if (this.queue.length === 0) this.setRef(false);
    }
  }

  private dropNext = false;
  private header = { oid: '', type: '' };

  /** Removes `n` bytes from the buffered chunks (all of them when !exact). */
  private take(n: number, exact: boolean): Buffer {
    const all = this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks);
    if (!exact || n === all.length) {
      this.chunks = [];
      this.buffered = 0;
      return all;
    }
    this.chunks = [all.subarray(n)];
    this.buffered = all.length - n;
    return all.subarray(0, n);
  }

  private putBack(rest: Buffer): void {
    this.chunks = rest.length > 0 ? [rest, ...this.chunks] : this.chunks;
    this.buffered += rest.length;
  }
}
