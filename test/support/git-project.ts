// Real git repositories for tests: files written, committed with fixed identities and dates.
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export class GitProject {
  private tick = 1_700_000_000;
  constructor(readonly dir: string) {}

  async git(...args: string[]): Promise<string> {
    const t = String(this.tick);
    const env = {
      ...process.env,
      GIT_AUTHOR_NAME: 'Test',
      GIT_AUTHOR_EMAIL: 'test@example.com',
      GIT_COMMITTER_NAME: 'Test',
      GIT_COMMITTER_EMAIL: 'test@example.com',
      GIT_AUTHOR_DATE: `@${t} +0000`,
      GIT_COMMITTER_DATE: `@${t} +0000`,
    };
    return (await exec('git', args, { cwd: this.dir, env, maxBuffer: 64 << 20 })).stdout;
  }

  static async init(dir: string): Promise<GitProject> {
    await mkdir(dir, { recursive: true });
    const p = new GitProject(dir);
    await p.git('init', '-q', '-b', 'main');
    return p;
  }

  async write(files: Record<string, string | Buffer | null>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      const abs = join(this.dir, path);
      if (content === null) {
        await rm(abs, { force: true, recursive: true });
        continue;
      }
      await mkdir(dirname(abs), { recursive: true });
      await writeFile(abs, content);
    }
  }

  /** Write (null deletes) and commit everything; returns the new commit. */
  async commit(files: Record<string, string | Buffer | null>, message = 'change'): Promise<string> {
    await this.write(files);
    this.tick += 60;
    await this.git('add', '-A');
    await this.git('commit', '-q', '--allow-empty', '-m', message);
    return (await this.git('rev-parse', 'HEAD')).trim();
  }
}
