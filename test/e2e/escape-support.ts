// Shared parts of the escape suite (issue 14): the static C probe (test/fixtures/escape-probe.c,
// compiled here with gcc -static and cached), the base image baked with umoci, the CLI run as root or
// as an unprivileged user with a subordinate range, and the reading of the probe's report.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { finalRefName } from '../../lib/storage/index.js';
import { MediaType } from '../../lib/oci/index.js';
import { REPO_ROOT, TSBUILD_BIN } from '../support/cli.js';
import { busyboxTree } from '../support/local-image.js';
import { stagePackage, type StagedPackage } from '../support/staged-package.js';
import { ensureTestUser } from '../support/test-user.js';

export const USER = 'tsbuild-test';
const CACHE = process.env.TSBUILD_TEST_CACHE ?? '/var/cache/tsbuild-test';
const PROBE_SOURCE = join(REPO_ROOT, 'test', 'fixtures', 'escape-probe.c');

export interface Who {
  label: 'root' | 'rootless';
  user?: string;
}
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let staged: StagedPackage | undefined;

/** The unprivileged user with a range, and the package copy it runs (the checkout may be closed to it). */
export async function setUpUsers(): Promise<void> {
  ensureTestUser(USER, true);
  staged = await stagePackage();
}

export async function tearDownUsers(): Promise<void> {
  await staged?.cleanup();
}

export interface EscapeWorkspace {
  root: string;
  home: string;
  project: string;
  /** A directory the CLI gets an open descriptor of: a step that escaped through it would write here. */
  canaryDir: string;
  write(yaml: string): Promise<void>;
  cleanup(): Promise<void>;
}

/** A home holding the probe base and its WorkingDir variants, a project dir, owned by `who`. */
export async function escapeWorkspace(who: Who): Promise<EscapeWorkspace> {
  const root = await mkdtemp(join(tmpdir(), `tsbuild-escape-${who.label}-`));
  const home = join(root, 'home');
  const project = join(root, 'project');
  const canaryDir = join(root, 'canary');
  await mkdir(project, { recursive: true });
  await mkdir(canaryDir);
  await bakeBase(home, probeBinary());
  for (const [tag, wd] of workdirCases()) await withWorkingDir(home, tag, wd);
  if (who.user) {
    execFileSync('chown', ['-R', `${who.user}:`, root]);
    await chmod(root, 0o755);
  }
  return {
    root,
    home,
    project,
    canaryDir,
    write: async (yaml: string): Promise<void> => {
      await writeFile(join(project, 'werf.yaml'), yaml);
      if (who.user) execFileSync('chown', [`${who.user}:`, join(project, 'werf.yaml')]);
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** The probe, compiled once per source version and machine. */
export function probeBinary(): string {
  const src = readFileSync(PROBE_SOURCE);
  const out = join(CACHE, `escape-probe-${createHash('sha256').update(src).digest('hex').slice(0, 16)}`);
  if (!existsSync(out)) {
    mkdirSync(CACHE, { recursive: true });
    const tmp = `${out}.${process.pid}`;
    execFileSync('gcc', ['-static', '-O2', '-o', tmp, PROBE_SOURCE]);
    renameSync(tmp, out);
  }
  return out;
}

export function cli(who: Who, args: string[], opts: { home: string; extraFd?: number }): Promise<Result & { pid: number }> {
  const env = [`TSBUILD_HOME=${opts.home}`, `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`];
  const [cmd, argv] = who.user
    ? ['runuser', ['-u', who.user, '--', 'env', '-i', ...env, staged!.node, staged!.bin, ...args]]
    : ['env', ['-i', ...env, process.execPath, TSBUILD_BIN, ...args]];
  return new Promise((resolve, reject) => {
    const stdio: Array<'pipe' | 'ignore' | number> = ['ignore', 'pipe', 'pipe'];
    if (opts.extraFd !== undefined) stdio.push(opts.extraFd);
    const child = spawn(cmd, argv, { stdio, cwd: '/' });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr, pid: child.pid ?? 0 });
    });
  });
}

/** The base image, made with umoci: busybox, the probe at /probe, symlinks for the WorkingDir cases. */
export async function bakeBase(home: string, probe: string): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'tsbuild-escape-umoci-'));
  try {
    const layout = join(work, 'layout');
    const bundle = join(work, 'bundle');
    execFileSync('umoci', ['init', '--layout', layout]);
    execFileSync('umoci', ['new', '--image', `${layout}:base`]);
    execFileSync('umoci', ['unpack', '--image', `${layout}:base`, bundle]);
    const rootfs = join(bundle, 'rootfs');
    const tree = await busyboxTree();
    try {
      execFileSync('cp', ['-a', `${tree.dir}/.`, rootfs]);
    } finally {
      await tree.cleanup();
    }
    for (const a of ['chown', 'chmod', 'stat', 'touch', 'id']) await symlink('busybox', join(rootfs, 'bin', a)).catch(() => undefined);
    // Device nodes are data of the image: kept in its layer, never usable from a step.
    execFileSync('mknod', ['-m', '0666', join(rootfs, 'disk'), 'b', '8', '0']);
    execFileSync('mknod', ['-m', '0666', join(rootfs, 'mem'), 'c', '1', '1']);
    await copyFile(probe, join(rootfs, 'probe'));
    await chmod(join(rootfs, 'probe'), 0o755);
    await mkdir(join(rootfs, 'srv'));
    for (const n of [3, 7, 20]) await symlink(`/proc/self/fd/${n}`, join(rootfs, `wd${n}`));
    await symlink('/proc/1/root', join(rootfs, 'wdroot'));
    await symlink('/proc/self/cwd', join(rootfs, 'wdcwd'));
    await symlink('/dev/fd/5', join(rootfs, 'wddevfd'));
    await symlink('../../../../../tmp', join(rootfs, 'srv', 'up'));
    execFileSync('umoci', ['repack', '--image', `${layout}:base`, bundle]);
    execFileSync('umoci', ['config', '--image', `${layout}:base`, '--config.env', 'PATH=/bin', '--config.workingdir', '/']);
    execFileSync('tar', ['-C', layout, '-cf', join(work, 'base.tar'), '.']);
    const res = await cli({ label: 'root' }, ['image', 'load', '--input', join(work, 'base.tar'), '--name', 'local.test/escape:base'], { home });
    assert.equal(res.code, 0, res.stderr);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The base with another WorkingDir in its config (same layers). */
export async function withWorkingDir(home: string, tag: string, workingDir: string): Promise<string> {
  const store = new LayoutStore(join(home, 'store'));
  const base = await store.resolve('local.test/escape:base');
  assert.ok(base, 'base image loaded');
  const manifest = JSON.parse((await store.readBytes(base.digest)).toString()) as { config: { digest: `sha256:${string}` }; layers: unknown[] };
  const config = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as { config: Record<string, unknown> };
  config.config.WorkingDir = workingDir;
  const cfg = await store.writeJson(config);
  const m = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, ...cfg.info },
    layers: manifest.layers,
  });
  const name = `local.test/escape:${tag}`;
  await store.setRef(name, { mediaType: MediaType.OciManifest, ...m.info });
  return name;
}

export function werfYaml(from: string, commands: string[]): string {
  const shell = commands.length ? `shell:\n  setup:\n${commands.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}\n` : '';
  return `project: esc\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\nsecrets:\n- id: token\n  value: s3cret\nmount:\n- from: build_dir\n  to: /cache\n${shell}`;
}

/** Files under `dir` named `name` (the build_dir mount's host side). */
export function findFile(dir: string, name: string): string[] {
  return execFileSync('find', [dir, '-name', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

export interface ProbeReport {
  refused: Map<string, string>;
  escapes: string[];
  status: Map<string, string>;
  fds: string[];
  /** Mount point -> its per-mount options, as /proc/self/mountinfo lists them inside the step. */
  mounts: Map<string, string>;
  done: boolean;
}

export function parseProbe(text: string): ProbeReport {
  const r: ProbeReport = { refused: new Map(), escapes: [], status: new Map(), fds: [], mounts: new Map(), done: false };
  for (const line of text.split('\n')) {
    const [kind, what, ...rest] = line.trim().split(' ');
    if (kind === 'REFUSED') r.refused.set(what!, rest.join(' '));
    else if (kind === 'ESCAPE') r.escapes.push(line);
    else if (kind === 'INFO' && what === 'status') r.status.set(rest[0]!.replace(/:$/, ''), rest.slice(1).join(' '));
    else if (kind === 'INFO' && what === 'fd') r.fds.push(rest.join(' '));
    else if (kind === 'INFO' && what === 'mount') r.mounts.set(rest[0]!, rest[1] ?? '');
    else if (kind === 'INFO' && what === 'done') r.done = true;
  }
  return r;
}

export function assertContained(report: ProbeReport, where: string, build: boolean): void {
  assert.ok(report.done, `${where}: the probe ran to the end`);
  assert.deepEqual(report.escapes, [], `${where}: escapes`);
  assert.equal(report.status.get('Seccomp'), '2', `${where}: seccomp filter mode`);
  assert.equal(report.status.get('NoNewPrivs'), '1', `${where}: no_new_privs`);
  // At most Docker's default set minus CAP_MKNOD; never CAP_SYS_ADMIN (21) or CAP_DAC_READ_SEARCH (2).
  const capEff = BigInt(`0x${report.status.get('CapEff') ?? 'ffffffffffffffff'}`);
  assert.equal(capEff & ~0xa00425fbn, 0n, `${where}: CapEff ${report.status.get('CapEff')}`);
  for (const call of [
    'mount',
    'unshare',
    'unshare-mount',
    'setns',
    'ptrace-builder',
    'ptrace-pid1',
    'write:/proc/self/exe',
    'write:/proc/sys/kernel/core_pattern',
    'write:/proc/sys/vm/drop_caches',
  ]) {
    assert.ok(report.refused.has(call), `${where}: ${call} refused (got ${[...report.refused.keys()].join(', ')})`);
  }
  assert.ok(report.refused.has('mknod') || report.refused.has('mknod-open'), `${where}: mknod of a block device refused or unusable`);
  const anchors = ['/', '/proc/self/exe', '/probe', ...(build ? ['/etc/resolv.conf', '/.tsbuild/bin/bash', '/.tsbuild/status', '/run/secrets/token'] : [])];
  for (const path of anchors) assert.equal(report.refused.get(`open_by_handle_at:${path}`), 'EPERM', `${where}: open_by_handle_at through ${path}`);
  for (const [what, errno] of report.refused)
    if (what.startsWith('open_by_handle_at:') || what.startsWith('name_to_handle_at:')) assert.equal(errno, 'EPERM', `${where}: ${what}`);
  assert.deepEqual(report.fds, [], `${where}: descriptors open in the step`);
  if (build) {
    // The toolchain shell, the script, resolv.conf and secrets: read-only, nosuid, nodev; the status dir is written.
    for (const mp of ['/.tsbuild/bin/bash', '/.tsbuild/script', '/etc/resolv.conf', '/run/secrets/token', '/.tsbuild/status']) {
      const opts = (report.mounts.get(mp) ?? '').split(',');
      assert.ok(opts.includes('nosuid') && opts.includes('nodev'), `${where}: ${mp} mounted ${opts.join(',')}`);
      if (mp !== '/.tsbuild/status') assert.ok(opts.includes('ro'), `${where}: ${mp} mounted ${opts.join(',')}`);
    }
  }
}

export async function topLayerListing(home: string, index = -1): Promise<string[]> {
  const store = new LayoutStore(join(home, 'store'));
  const desc = await store.resolve(finalRefName('esc', 'app'));
  assert.ok(desc, 'final image stored');
  const manifest = JSON.parse((await store.readBytes(desc.digest)).toString()) as { layers: Array<{ digest: `sha256:${string}` }> };
  const top = manifest.layers[index < 0 ? manifest.layers.length + index : index]!;
  return execFileSync('tar', ['-tvzf', store.blobPath(top.digest), '--numeric-owner'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`;
    });
}

/** Root's /etc/subuid range, else the one tsbuild reserves (docs/security.md). */
export function rootRangeStart(): number {
  const line = readFileSync('/etc/subuid', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('root:') || l.startsWith('0:'));
  return line ? Number(line.split(':')[1]) : 2_000_000_000;
}

/** [tag, WorkingDir] pairs: every /proc/self/fd/N for N = 3..20 and the symlinked variants. */
export function workdirCases(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let n = 3; n <= 20; n++) out.push([`fd${n}`, `/proc/self/fd/${n}`]);
  out.push(
    ['wd3', '/wd3'],
    ['wd7', '/wd7/..'],
    ['wd20', '/wd20/x'],
    ['root1', '/proc/1/root'],
    ['cwd', '/proc/self/cwd'],
    ['wdroot', '/wdroot'],
    ['wdcwd', '/wdcwd/etc'],
    ['devfd', '/wddevfd'],
    ['up', '/srv/up'],
  );
  return out;
}
