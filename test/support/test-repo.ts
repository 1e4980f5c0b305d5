// Test support (not exported by index.ts): real git repositories in temp dirs, with fixed
// identities and dates so commit ids are the same on every run.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { GitRepo } from '../../lib/git/index.js';

const exec = promisify(execFile);

/** Identity, dates and config isolation for test commits. */
export function testGitEnv(unixSeconds: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of ['GIT_DIR', 'GIT_WORK_TREE', 'GIT_INDEX_FILE']) delete env[k];
  return {
    ...env,
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test',
    GIT_AUTHOR_EMAIL: 'test@example.com',
    GIT_COMMITTER_NAME: 'Test',
    GIT_COMMITTER_EMAIL: 'test@example.com',
    GIT_AUTHOR_DATE: `${unixSeconds} +0000`,
    GIT_COMMITTER_DATE: `${unixSeconds} +0000`,
  };
}

export class TestRepo {
  /** Commit time of the next commit; each commit advances it by a minute. */
  time = 1_700_000_000;

  private constructor(
    readonly dir: string,
    readonly tmp: string,
  ) {}

  static async create(options: { bare?: boolean } = {}): Promise<TestRepo> {
    const tmp = await mkdtemp(join(tmpdir(), 'tsbuild-git-test-'));
    const dir = join(tmp, options.bare ? 'repo.git' : 'repo');
    await mkdir(dir);
    const repo = new TestRepo(dir, tmp);
    await repo.git('init', '-q', ...(options.bare ? ['--bare'] : []), '-b', 'main');
    return repo;
  }

  async git(...args: string[]): Promise<string> {
    const { stdout } = await exec('git', ['-C', this.dir, ...args], { env: testGitEnv(this.time), maxBuffer: 256 * 1024 * 1024 });
    return stdout.trim();
  }

  async write(path: string, content: string | Buffer, mode?: number): Promise<void> {
    const full = join(this.dir, path);
    await mkdir(dirname(full), { recursive: true });
    await writeFile(full, content);
    if (mode !== undefined) await chmod(full, mode);
  }

  async symlink(path: string, target: string): Promise<void> {
    const full = join(this.dir, path);
    await mkdir(dirname(full), { recursive: true });
    await unlink(full).catch(() => undefined);
    await symlink(target, full);
  }

  async remove(path: string): Promise<void> {
    await rm(join(this.dir, path), { recursive: true, force: true });
  }

  /** Stages everything and commits; returns the commit hash. */
  async commit(message = 'change'): Promise<string> {
    await this.git('add', '-A');
    await this.git('commit', '-q', '--allow-empty', '-m', message);
    this.time += 60;
    return this.git('rev-parse', 'HEAD');
  }

  async cleanup(): Promise<void> {
    await rm(this.tmp, { recursive: true, force: true });
  }
}

/** A fresh test repository opened as a GitRepo; both are closed and removed afterwards. */
export async function withRepo(fn: (t: TestRepo, repo: GitRepo) => Promise<void>): Promise<void> {
  const t = await TestRepo.create();
  const repo = await GitRepo.open(t.dir);
  try {
    await fn(t, repo);
  } finally {
    await repo.close();
    await t.cleanup();
  }
}
