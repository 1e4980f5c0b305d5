// The escape suite (issue 14): a static C probe (test/fixtures/escape-probe.c, compiled here with
// gcc -static and cached) baked into a base image with umoci tries what a hostile base image author
// would — open_by_handle_at through every path it can open, mount, mknod + open, /proc/sys writes,
// ptrace, writing /proc/self/exe — in `build` and `run`, with bwrap, runc and crun, as root and as an
// unprivileged user with a subordinate range; hostile WorkingDirs are refused; ownership is exact.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, statSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, symlink, copyFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { finalRefName } from '../../lib/storage/index.js';
import { MediaType } from '../../lib/oci/index.js';
import { REPO_ROOT, TSBUILD_BIN } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { stagePackage, type StagedPackage } from '../support/staged-package.js';
import { ensureTestUser } from '../support/test-user.js';

const USER = 'tsbuild-test';
const CACHE = process.env.TSBUILD_TEST_CACHE ?? '/var/cache/tsbuild-test';
const PROBE_SOURCE = join(REPO_ROOT, 'test', 'fixtures', 'escape-probe.c');

interface Who {
  label: 'root' | 'rootless';
  user?: string;
}
interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let staged: StagedPackage | undefined;

/** The probe, compiled once per source version and machine. */
function probeBinary(): string {
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

function cli(who: Who, args: string[], opts: { home: string; extraFd?: number }): Promise<Result & { pid: number }> {
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
async function bakeBase(home: string, probe: string): Promise<void> {
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
async function withWorkingDir(home: string, tag: string, workingDir: string): Promise<string> {
  const store = new LayoutStore(join(home, 'store'));
  const base = await store.resolve('local.test/escape:base');
  assert.ok(base, 'base image loaded');
  const manifest = JSON.parse((await store.readBytes(base.digest)).toString()) as { config: { digest: `sha256:${string}` }; layers: unknown[] };
  const config = JSON.parse((await store.readBytes(manifest.config.digest)).toString()) as { config: Record<string, unknown> };
  config.config.WorkingDir = workingDir;
  const cfg = await store.writeJson(config);
  const m = await store.writeJson({ schemaVersion: 2, mediaType: MediaType.OciManifest, config: { mediaType: MediaType.OciConfig, ...cfg.info }, layers: manifest.layers });
  const name = `local.test/escape:${tag}`;
  await store.setRef(name, { mediaType: MediaType.OciManifest, ...m.info });
  return name;
}

function werfYaml(from: string, commands: string[]): string {
  const shell = commands.length ? `shell:\n  setup:\n${commands.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}\n` : '';
  return `project: esc\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\nsecrets:\n- id: token\n  value: s3cret\nmount:\n- from: build_dir\n  to: /cache\n${shell}`;
}

/** Files under `dir` named `name` (the build_dir mount's host side). */
function findFile(dir: string, name: string): string[] {
  return execFileSync('find', [dir, '-name', name], { encoding: 'utf8' }).split('\n').filter(Boolean);
}

interface ProbeReport {
  refused: Map<string, string>;
  escapes: string[];
  status: Map<string, string>;
  fds: string[];
  /** Mount point -> its per-mount options, as /proc/self/mountinfo lists them inside the step. */
  mounts: Map<string, string>;
  done: boolean;
}

function parseProbe(text: string): ProbeReport {
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

function assertContained(report: ProbeReport, where: string, build: boolean): void {
  assert.ok(report.done, `${where}: the probe ran to the end`);
  assert.deepEqual(report.escapes, [], `${where}: escapes`);
  assert.equal(report.status.get('Seccomp'), '2', `${where}: seccomp filter mode`);
  assert.equal(report.status.get('NoNewPrivs'), '1', `${where}: no_new_privs`);
  // At most Docker's default set minus CAP_MKNOD; never CAP_SYS_ADMIN (21) or CAP_DAC_READ_SEARCH (2).
  const capEff = BigInt(`0x${report.status.get('CapEff') ?? 'ffffffffffffffff'}`);
  assert.equal(capEff & ~0xa00425fbn, 0n, `${where}: CapEff ${report.status.get('CapEff')}`);
  for (const call of ['mount', 'unshare', 'unshare-mount', 'setns', 'ptrace-builder', 'ptrace-pid1', 'write:/proc/self/exe', 'write:/proc/sys/kernel/core_pattern', 'write:/proc/sys/vm/drop_caches']) {
    assert.ok(report.refused.has(call), `${where}: ${call} refused (got ${[...report.refused.keys()].join(', ')})`);
  }
  assert.ok(report.refused.has('mknod') || report.refused.has('mknod-open'), `${where}: mknod of a block device refused or unusable`);
  const anchors = ['/', '/proc/self/exe', '/probe', ...(build ? ['/etc/resolv.conf', '/.tsbuild/bin/bash', '/.tsbuild/status', '/run/secrets/token'] : [])];
  for (const path of anchors) assert.equal(report.refused.get(`open_by_handle_at:${path}`), 'EPERM', `${where}: open_by_handle_at through ${path}`);
  for (const [what, errno] of report.refused) if (what.startsWith('open_by_handle_at:') || what.startsWith('name_to_handle_at:')) assert.equal(errno, 'EPERM', `${where}: ${what}`);
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

async function topLayerListing(home: string, index = -1): Promise<string[]> {
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

before(async () => {
  ensureTestUser(USER, true);
  staged = await stagePackage();
});
after(async () => {
  await staged?.cleanup();
});

for (const who of [{ label: 'root' }, { label: 'rootless', user: USER }] as Who[]) {
  describe(`escape suite (${who.label})`, () => {
    let root: string;
    let home: string;
    let project: string;
    let canaryDir: string;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), `tsbuild-escape-${who.label}-`));
      home = join(root, 'home');
      project = join(root, 'project');
      canaryDir = join(root, 'canary');
      await mkdir(project, { recursive: true });
      await mkdir(canaryDir);
      await bakeBase(home, probeBinary());
      for (const [tag, wd] of workdirCases()) await withWorkingDir(home, tag, wd);
      if (who.user) {
        execFileSync('chown', ['-R', `${who.user}:`, root]);
        await chmod(root, 0o755);
      }
    });
    after(async () => {
      await rm(root, { recursive: true, force: true });
    });

    const write = async (yaml: string): Promise<void> => {
      await writeFile(join(project, 'werf.yaml'), yaml);
      if (who.user) execFileSync('chown', [`${who.user}:`, join(project, 'werf.yaml')]);
    };

    test('doctor reports the user namespace mapping, the seccomp filter and the capability set as active', async () => {
      const res = await cli(who, ['doctor', '--json'], { home });
      const r = JSON.parse(res.stdout) as { protections: { userNamespace: { active: boolean; detail: string }; seccomp: { active: boolean; deniedSyscalls: number }; capabilities: { capEff: string; namespaced: boolean } } };
      assert.equal(r.protections.userNamespace.active, true, r.protections.userNamespace.detail);
      if (!who.user) assert.match(r.protections.userNamespace.detail, /host root is not mapped in a step/);
      assert.equal(r.protections.seccomp.active, true);
      assert.ok(r.protections.seccomp.deniedSyscalls >= 50);
      assert.equal(r.protections.capabilities.capEff, '00000000a00425fb');
      assert.equal(r.protections.capabilities.namespaced, true);
      const text = await cli(who, ['doctor'], { home });
      assert.match(text.stdout, /ok +step user namespace/);
      assert.match(text.stdout, /ok +step seccomp/);
    });

    for (const sandbox of ['bwrap', 'runc', 'crun']) {
      test(`${sandbox}: the probe finds no way out in build and run; ownership recorded exactly; secrets read-only`, async () => {
        const canary = `escaped-${sandbox}-${who.label}`;
        await write(
          werfYaml('local.test/escape:base', [
            `/probe ${canary} ${process.pid} > /probe-build.txt 2>&1`,
            'touch /owned && chown 1234:4321 /owned && touch /suid && chmod 4755 /suid && mkdir /sgid-dir && chmod 2775 /sgid-dir',
            'if echo x > /run/secrets/token 2>/dev/null; then echo secret-writable; exit 1; fi',
            `touch /cache/owner-${sandbox}`,
            'for d in /disk /mem; do if head -c1 $d >/dev/null 2>&1; then echo device-usable $d; exit 1; fi; done',
          ]),
        );
        const build = await cli(who, ['build', '--dir', project, '--pull', 'never', '--sandbox', sandbox], { home });
        assert.equal(build.code, 0, build.stderr);
        const layer = await topLayerListing(home);
        const line = (p: string): string | undefined => layer.find((l) => l.endsWith(` ${p}`) || l.endsWith(` ${p}/`));
        assert.match(line('owned') ?? '', /^-rw-r--r-- 1234\/4321 owned$/, layer.join('\n'));
        assert.match(line('suid') ?? '', /^-rwsr-xr-x 0\/0 suid$/, layer.join('\n'));
        assert.match(line('sgid-dir') ?? '', /^drwxrwsr-x 0\/0 sgid-dir\/?$/, layer.join('\n'));
        assert.ok(!layer.some((l) => / run\/secrets/.test(l)), 'secrets never reach a layer');
        assert.equal(statSync(join(home, 'snapshots')).mode & 0o077, 0, 'snapshots are closed to other users');
        const base = await topLayerListing(home, 0);
        assert.ok(base.some((l) => /^brw-rw-rw- 0\/0 disk$/.test(l)) && base.some((l) => /^crw-rw-rw- 0\/0 mem$/.test(l)), `device nodes kept in the base layer:\n${base.filter((l) => /^[bc]/.test(l)).join('\n')}`);
        // Who the step's uid 0 is on the host: never host root.
        const [owned] = findFile(join(home, 'build_dir'), `owner-${sandbox}`);
        assert.ok(owned, 'the step wrote into its build_dir mount');
        const hostUid = statSync(owned).uid;
        if (who.user) assert.equal(hostUid, Number(execFileSync('id', ['-u', who.user], { encoding: 'utf8' })), 'rootless: step uid 0 is the user');
        else assert.equal(hostUid, rootRangeStart(), 'root: step uid 0 is the first id of the subordinate range');

        const fromBuild = await cli(who, ['run', '--dir', project, '--sandbox', sandbox, 'app', '--', '/bin/cat', '/probe-build.txt'], { home });
        assert.equal(fromBuild.code, 0, fromBuild.stderr);
        assertContained(parseProbe(fromBuild.stdout), `${sandbox} build`, true);

        const run = await cli(who, ['run', '--dir', project, '--sandbox', sandbox, 'app', '--', '/probe', canary, String(process.pid)], { home });
        assert.equal(run.code, 0, run.stderr);
        assertContained(parseProbe(run.stdout), `${sandbox} run`, false);
        // A handle for inode 2 opens the root of the file system behind the descriptor: the host's /.
        assert.ok(!existsSync(join('/', canary)), 'nothing created on the host through a file handle');
      });

      test(`${sandbox}: hostile WorkingDirs are refused in build and run, with nothing written on the host`, async () => {
        const cases = sandbox === 'bwrap' ? workdirCases() : workdirCases().filter(([tag]) => ['fd3', 'wd7', 'up'].includes(tag));
        const fd = openSync(canaryDir, 'r');
        try {
          for (const [tag, wd] of cases) {
            await write(werfYaml(`local.test/escape:${tag}`, ['touch escaped-build']));
            const build = await cli(who, ['build', '--dir', project, '--pull', 'never', '--sandbox', sandbox], { home, extraFd: fd });
            assert.notEqual(build.code, 0, `${tag}: build must fail`);
            assert.match(build.stderr, new RegExp(`image "app": WorkingDir "${wd.replace(/[/.]/g, '\\$&')}"`), `${tag}: ${build.stderr}`);
            // No stage: the final image is the base, WorkingDir included, and `run` must refuse it too.
            await write(werfYaml(`local.test/escape:${tag}`, []));
            const built = await cli(who, ['build', '--dir', project, '--pull', 'never', '--sandbox', sandbox], { home });
            assert.equal(built.code, 0, built.stderr);
            const run = await cli(who, ['run', '--dir', project, '--sandbox', sandbox, 'app', '--', '/bin/touch', 'escaped-run'], { home, extraFd: fd });
            assert.notEqual(run.code, 0, `${tag}: run must fail`);
            assert.match(run.stderr, /WorkingDir/, `${tag}: ${run.stderr}`);
          }
        } finally {
          closeSync(fd);
        }
        assert.deepEqual(await readdir(canaryDir), []);
        assert.deepEqual(readdirSync('/tmp').filter((n) => n.startsWith('escaped-')), []);
      });
    }
  });
}

/** Root's /etc/subuid range, else the one tsbuild reserves (docs/security.md). */
function rootRangeStart(): number {
  const line = readFileSync('/etc/subuid', 'utf8').split('\n').find((l) => l.startsWith('root:') || l.startsWith('0:'));
  return line ? Number(line.split(':')[1]) : 2_000_000_000;
}

/** [tag, WorkingDir] pairs: every /proc/self/fd/N for N = 3..20 and the symlinked variants. */
function workdirCases(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let n = 3; n <= 20; n++) out.push([`fd${n}`, `/proc/self/fd/${n}`]);
  out.push(['wd3', '/wd3'], ['wd7', '/wd7/..'], ['wd20', '/wd20/x'], ['root1', '/proc/1/root'], ['cwd', '/proc/self/cwd'], ['wdroot', '/wdroot'], ['wdcwd', '/wdcwd/etc'], ['devfd', '/wddevfd'], ['up', '/srv/up']);
  return out;
}
