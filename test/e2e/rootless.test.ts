// The sandbox suite as root and as an unprivileged user with a subordinate id range (and once with
// none): ownership, whiteouts and opaque dirs in layers, every sandbox and snapshotter, isolation,
// hostile images, and Ctrl-C leaving nothing behind. Uses real bwrap, runc, crun and overlayfs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { withFileLock } from '../../lib/internal/file-lock.js';
import { finalRefName } from '../../lib/storage/index.js';
import { TSBUILD_BIN } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { stagePackage, type StagedPackage } from '../support/staged-package.js';
import { ensureTestUser } from '../support/test-user.js';
import { waitUntil } from '../support/wait.js';
import { processesWith } from '../support/processes.js';

const USER = 'tsbuild-test';
const NOSUB_USER = 'tsbuild-nosub';

interface Who {
  label: string;
  /** undefined: this process (root). */
  user?: string;
}

const ROOT: Who = { label: 'root' };
const ROOTLESS: Who = { label: 'rootless', user: USER };

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The package copy the unprivileged users run: the checkout itself may be closed to them (/root/...). */
let staged: StagedPackage | undefined;

function cli(
  who: Who,
  args: string[],
  opts: { home: string; env?: Record<string, string>; extraFd?: number; timeoutMs?: number; onSpawn?: (pid: number) => void },
): Promise<Result> {
  const envPairs = Object.entries({ TSBUILD_HOME: opts.home, PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env }).map(([k, v]) => `${k}=${v}`);
  const [cmd, argv] = who.user
    ? ['runuser', ['-u', who.user, '--', 'env', '-i', ...envPairs, staged!.node, staged!.bin, ...args]]
    : ['env', ['-i', ...envPairs, process.execPath, TSBUILD_BIN, ...args]];
  return new Promise((resolve, reject) => {
    const stdio: Array<'pipe' | 'ignore' | number> = ['ignore', 'pipe', 'pipe'];
    if (opts.extraFd !== undefined) stdio.push(opts.extraFd);
    const child = spawn(cmd, argv, { stdio, cwd: '/' });
    if (child.pid) opts.onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 180_000);
    child.on('error', reject);
    child.on('close', (code, sig) => {
      clearTimeout(timer);
      resolve({ code: code ?? (sig ? 128 : 1), stdout, stderr });
    });
  });
}

/** Per-mode workspace: a TSBUILD_HOME with local base images and a project dir, owned by the user. */
async function workspace(who: Who, prefix: string): Promise<{ home: string; project: string; root: string; cleanup(): Promise<void> }> {
  const root = await mkdtemp(join(tmpdir(), `tsbuild-${prefix}-`));
  const home = join(root, 'home');
  const project = join(root, 'project');
  await mkdir(project, { recursive: true });
  const tree = await busyboxTree();
  try {
    for (const a of ['chown', 'chmod', 'stat', 'sleep', 'tr', 'grep', 'find']) await symlink('busybox', join(tree.dir, 'bin', a)).catch(() => undefined);
    await mkdir(join(tree.dir, 'olddir', 'sub'), { recursive: true });
    await writeFile(join(tree.dir, 'olddir', 'a'), 'a\n');
    await writeFile(join(tree.dir, 'olddir', 'sub', 'b'), 'b\n');
    await writeFile(join(tree.dir, 'delme'), 'x\n');
    await storeLocalImage(join(home, 'store'), 'local.test/base:1', tree.dir);
  } finally {
    await tree.cleanup();
  }
  if (who.user) {
    execFileSync('chown', ['-R', `${who.user}:`, root]);
    await chmod(root, 0o755);
  }
  return { home, project, root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

function werfYaml(from: string, commands: string[], extra = ''): string {
  return `project: rl\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\n${extra}shell:\n  setup:\n${commands.map((c) => `  - ${JSON.stringify(c)}`).join('\n')}\n`;
}

async function writeProject(who: Who, dir: string, yaml: string): Promise<void> {
  await writeFile(join(dir, 'werf.yaml'), yaml);
  if (who.user) execFileSync('chown', [`${who.user}:`, join(dir, 'werf.yaml')]);
}

/** `tar -tv` lines of the final image's top layer: "<mode> <uid>/<gid> <path>". */
async function topLayerListing(home: string): Promise<string[]> {
  const store = new LayoutStore(join(home, 'store'));
  const desc = await store.resolve(finalRefName('rl', 'app'));
  assert.ok(desc, 'final image stored');
  const manifest = JSON.parse((await store.readBytes(desc.digest)).toString()) as { layers: Array<{ digest: `sha256:${string}` }> };
  const top = manifest.layers[manifest.layers.length - 1]!;
  const out = execFileSync('tar', ['-tvzf', store.blobPath(top.digest), '--numeric-owner'], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const f = l.split(/\s+/);
      return `${f[0]} ${f[1]} ${f.slice(5).join(' ')}`;
    });
}

function overlayMountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(dir));
}

/** The CLI itself: `runuser` (rootless) starts it as its child; as root `env` execs it. */
function cliPid(spawned: number, who: Who): number {
  if (!who.user) return spawned;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === spawned) return Number(p);
    } catch {
      /* gone */
    }
  }
  throw new Error(`no child of runuser ${spawned}`);
}

before(async () => {
  // Two suites may start at once on a fresh machine: useradd/usermod of the same user must not race.
  await withFileLock(
    join(tmpdir(), 'tsbuild-test-users.lock'),
    async () => {
      ensureTestUser(USER, true);
      ensureTestUser(NOSUB_USER, false);
    },
    { timeoutMs: 300_000 },
  );
  staged = await stagePackage();
});
after(async () => {
  await staged?.cleanup();
});

for (const who of [ROOT, ROOTLESS]) {
  describe(`sandbox suite (${who.label})`, () => {
    let ws: Awaited<ReturnType<typeof workspace>>;
    before(async () => {
      ws = await workspace(who, `rl-${who.label}`);
    });
    after(async () => {
      await ws?.cleanup();
    });

    for (const sandbox of ['bwrap', 'runc', 'crun']) {
      for (const snapshotter of ['overlayfs', 'native']) {
        test(`${sandbox} + ${snapshotter}: chown, setuid, deleted file and replaced directory are recorded in the layer`, async () => {
          await writeProject(
            who,
            ws.project,
            werfYaml('local.test/base:1', [
              `echo ${sandbox}-${snapshotter} > /combo`,
              'touch /owned && chown 1000:1000 /owned',
              'touch /suid && chmod 4755 /suid',
              'rm /delme',
              'rm -rf /olddir && mkdir /olddir && echo new > /olddir/c',
              'test "$(id -u)" = 0',
            ]),
          );
          const res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox, '--snapshotter', snapshotter], { home: ws.home });
          assert.equal(res.code, 0, res.stderr);
          const layer = await topLayerListing(ws.home);
          const line = (path: string): string | undefined => layer.find((l) => l.endsWith(` ${path}`));
          assert.match(line('owned') ?? '', /^-rw-r--r-- 1000\/1000 owned$/, layer.join('\n'));
          assert.match(line('suid') ?? '', /^-rwsr-xr-x 0\/0 suid$/);
          assert.ok(line('.wh.delme'), `whiteout for /delme in:\n${layer.join('\n')}`);
          assert.ok(line('olddir/.wh..wh..opq'), `opaque marker for /olddir in:\n${layer.join('\n')}`);
          assert.ok(line('olddir/c'));
          assert.ok(!layer.some((l) => / olddir\/(a|sub)/.test(l)), 'the old content of the replaced dir is not in the layer');
          assert.ok(!layer.some((l) => / \.tsbuild|^\S+ \S+ (proc|dev)\/?$/.test(l)), `no sandbox placeholders in:\n${layer.join('\n')}`);
          assert.equal(overlayMountsUnder(ws.home).length, 0, 'no overlay mount left');
        });
      }
    }

    test("the builder's environment and inherited descriptors are not visible inside a stage", async () => {
      await writeProject(
        who,
        ws.project,
        werfYaml('local.test/base:1', ['cat /proc/[0-9]*/environ 2>/dev/null | tr "\\0" "\\n" > /environ.txt || true', 'ls /proc/self/fd > /fds.txt']),
      );
      const canary = join(ws.root, 'canary');
      await writeFile(canary, 'inherited\n');
      const fd = openSync(canary, 'r');
      try {
        const res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never'], { home: ws.home, env: { SECRET_TOKEN: 'do-not-leak-42' }, extraFd: fd });
        assert.equal(res.code, 0, res.stderr);
      } finally {
        closeSync(fd);
      }
      const run = await cli(who, ['run', '--dir', ws.project, 'app', '--', '/bin/cat', '/environ.txt', '/fds.txt'], { home: ws.home });
      assert.equal(run.code, 0, run.stderr);
      assert.doesNotMatch(run.stdout, /SECRET_TOKEN|do-not-leak|TSBUILD_HOME|TSBUILD_ID_MODE/);
      const fds = run.stdout.split('\n').filter((l) => /^\d+$/.test(l));
      assert.ok(fds.length <= 4, `unexpected fds inside the sandbox: ${fds.join(' ')}`);
    });

    test('hostile images: a symlinked mount point is refused, symlinks to host paths stay inside', async () => {
      const marker = await mkdtemp(join(tmpdir(), 'tsbuild-rl-host-'));
      await writeFile(join(marker, 'host-secret'), 'host only\n');
      await chmod(marker, 0o755);
      try {
        const tree = await busyboxTree();
        try {
          await symlink(join(marker, 'pwn'), join(tree.dir, '.tsbuild'));
          await storeLocalImage(join(ws.home, 'store'), 'local.test/symlinked-mount:1', tree.dir);
        } finally {
          await tree.cleanup();
        }
        const tree2 = await busyboxTree();
        try {
          await symlink('/proc/self/fd/7', join(tree2.dir, 'wd'));
          await symlink(marker, join(tree2.dir, 'escape'));
          await storeLocalImage(join(ws.home, 'store'), 'local.test/proc-workdir:1', tree2.dir, { WorkingDir: '/wd' });
        } finally {
          await tree2.cleanup();
        }
        if (who.user) execFileSync('chown', ['-R', `${who.user}:`, ws.home]);
        await writeProject(who, ws.project, werfYaml('local.test/symlinked-mount:1', ['echo hi']));
        let res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never'], { home: ws.home });
        assert.notEqual(res.code, 0);
        assert.match(res.stderr, /symlink on the path \/\.tsbuild/);
        await assert.rejects(access(join(marker, 'pwn')));
        await writeProject(
          who,
          ws.project,
          werfYaml('local.test/proc-workdir:1', ['cat /escape/host-secret > /stolen.txt 2>&1 || true', 'touch /escape/created 2>/dev/null || true']),
        );
        res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never'], { home: ws.home });
        if (res.code === 0) {
          const run = await cli(who, ['run', '--dir', ws.project, 'app', '--', '/bin/cat', '/stolen.txt'], { home: ws.home });
          assert.doesNotMatch(run.stdout, /host only/);
        }
        assert.deepEqual(await readdir(marker), ['host-secret']);
      } finally {
        await rm(marker, { recursive: true, force: true });
      }
    });

    for (const sandbox of ['bwrap', 'runc']) {
      test(`${sandbox}: Ctrl-C stops the build with 130, leaves no process or mount, and the next build succeeds`, async () => {
        // A step that never ends by itself, with a duration no other test run uses: the processes
        // looked for are this build's only (two suites may run at once), and an exit 130 with the
        // sleep gone proves the interrupt stopped it rather than the step finishing.
        const nap = `sleep ${100_000 + randomInt(800_000)}`;
        await writeProject(who, ws.project, werfYaml('local.test/base:1', [`echo started-${sandbox}`, nap]));
        let pid = 0;
        let ended = false;
        const run = cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox], { home: ws.home, onSpawn: (p) => (pid = p) }).finally(
          () => (ended = true),
        );
        // Wait until the step's sleep runs (however long a loaded machine takes, unless the build
        // ends first), then interrupt the CLI only (not its process group).
        while (processesWith(nap).length === 0 && !ended) await new Promise((r) => setTimeout(r, 100));
        assert.ok(processesWith(nap).length > 0, `the step started\n${ended ? (await run).stderr : ''}`);
        process.kill(cliPid(pid, who), 'SIGINT');
        const res = await run;
        assert.equal(res.code, 130, `exit code ${res.code}\n${res.stderr}`);
        // The sandbox is torn down when the CLI exits; the kernel may reap its last process a moment later.
        await waitUntil(() => processesWith(nap).length === 0, 'no sandbox process left').catch(() => undefined);
        assert.deepEqual(processesWith(nap), [], 'no sandbox process left');
        assert.deepEqual(overlayMountsUnder(ws.home), [], 'no overlay mount left');
        await writeProject(who, ws.project, werfYaml('local.test/base:1', [`echo again-${sandbox}`]));
        const again = await cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox], { home: ws.home });
        assert.equal(again.code, 0, again.stderr);
      });
    }
  });
}

describe('rootless without a subordinate id range', () => {
  test('warns once and still builds a simple image; chown to another id fails inside', async () => {
    const who: Who = { label: 'nosub', user: NOSUB_USER };
    const ws = await workspace(who, 'rl-nosub');
    try {
      const doctor = await cli(who, ['doctor', '--json'], { home: ws.home });
      assert.equal((JSON.parse(doctor.stdout) as { idMode: { mode: string } }).idMode.mode, 'single');
      await writeProject(
        who,
        ws.project,
        werfYaml('local.test/base:1', [
          'echo hello > /hello',
          'test "$(id -u)" = 0',
          'if chown 1000:1000 /hello 2>/dev/null; then echo chown-worked; exit 1; fi',
        ]),
      );
      const res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never'], { home: ws.home });
      assert.equal(res.code, 0, res.stderr);
      const warnings = res.stderr.split('\n').filter((l) => /no subordinate id range/.test(l));
      assert.equal(warnings.length, 1, res.stderr);
      assert.match(warnings[0]!, /chown/);
      const layer = await topLayerListing(ws.home);
      assert.ok(
        layer.some((l) => /^-rw-r--r-- 0\/0 hello$/.test(l)),
        layer.join('\n'),
      );
    } finally {
      await ws.cleanup();
    }
  });
});

describe('rootless without a subordinate id range: a failing step', () => {
  test('names the missing range in the hint (user switches and chown fail there)', async () => {
    const who: Who = { label: 'nosub', user: NOSUB_USER };
    const ws = await workspace(who, 'rl-nosub-fail');
    try {
      await writeProject(who, ws.project, werfYaml('local.test/base:1', ['echo hello > /hello', 'chown 1000:1000 /hello']));
      const res = await cli(who, ['build', '--dir', ws.project, '--pull', 'never'], { home: ws.home });
      assert.equal(res.code, 1, res.stderr);
      assert.match(res.stderr, /error: image "[^"]+", stage \w+: command failed with exit code 1: chown 1000:1000 \/hello/);
      assert.match(res.stderr, /^hint: stages run with only your own id mapped .*usermod --add-subuids/m);
    } finally {
      await ws.cleanup();
    }
  });
});

describe('doctor as a user with a subordinate range', () => {
  test('reports the rootless id mode with the range', async () => {
    const home = await mkdtemp(join(tmpdir(), 'tsbuild-rl-doctor-'));
    try {
      execFileSync('chown', [`${USER}:`, home]);
      const res = await cli(ROOTLESS, ['doctor', '--json'], { home });
      const r = JSON.parse(res.stdout) as { idMode: { mode: string; subuid?: { start: number; count: number } }; overlay: boolean };
      assert.equal(r.idMode.mode, 'subuid');
      assert.ok((r.idMode.subuid?.count ?? 0) >= 65536);
      assert.equal(r.overlay, true);
      const text = await cli(ROOTLESS, ['doctor'], { home });
      assert.match(text.stdout, /id mode\s+rootless: uid 0 in a user namespace/);
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });
});
