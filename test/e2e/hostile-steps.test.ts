// What a step leaves that the fast commit path must still get right (reliability catalog A11, A12,
// C7, D2): a fifo, a file made unreadable (000), directories made non-writable (555) or closed (000),
// metadata changed without content (mode, owner, mtime), and processes left running in the
// background. As root and as a user with a subordinate range, on both snapshotters, with real bwrap:
// the layers say exactly that (tar listing), umoci unpacks the image with the contents, the next
// stage sees them, no step process outlives the build, and nothing is left in the home — also after
// a kill -9 in the middle of such a step, followed by `stages gc`.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { withFileLock } from '../../lib/internal/file-lock.js';
import { finalRefName } from '../../lib/storage/index.js';
import { TSBUILD_BIN } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { stagePackage, type StagedPackage } from '../support/staged-package.js';
import { checkStore } from '../support/store-check.js';
import { waitUntil } from '../support/wait.js';
import { ensureTestUser } from '../support/test-user.js';
import { processesWith } from '../support/processes.js';

const USER = 'tsbuild-test';
let staged: StagedPackage | undefined;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI as root, or as USER through runuser; in its own process group (killed as a whole). */
function cli(user: string | undefined, args: string[], home: string, onSpawn?: (pgid: number) => void): Promise<Run> {
  const env = [`TSBUILD_HOME=${home}`, `PATH=${process.env.PATH ?? '/usr/bin:/bin'}`];
  const [cmd, argv] = user
    ? ['runuser', ['-u', user, '--', 'env', '-i', ...env, staged!.node, staged!.bin, ...args]]
    : ['env', ['-i', ...env, process.execPath, TSBUILD_BIN, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'], cwd: '/', detached: true });
    if (child.pid) onSpawn?.(child.pid);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code, sig) => resolve({ code: code ?? (sig ? 137 : 1), stdout, stderr }));
  });
}

async function noneLeft(needle: string): Promise<number[]> {
  // The kernel reaps a dead pid namespace's processes a moment after its init exits (a hang guard only).
  await waitUntil(() => processesWith(needle).length === 0, `no process running ${needle}`).catch(() => undefined);
  return processesWith(needle);
}

/** What a killed or finished build may not leave behind. */
async function leftovers(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['tmp', 'snapshots/active', 'snapshots/tmp', 'store/.tmp']) {
    for (const n of await readdir(join(home, sub)).catch(() => [] as string[])) out.push(`${sub}/${n}`);
  }
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => l.includes(home));
  return [...out, ...mounts];
}

/** `tar -tv` of every layer of the final image: "<mode> <uid>/<gid> <date> <time> <path>". */
async function layerListing(home: string): Promise<string[]> {
  const store = new LayoutStore(join(home, 'store'));
  const desc = await store.resolve(finalRefName('hs', 'app'));
  assert.ok(desc, 'final image stored');
  const manifest = JSON.parse((await store.readBytes(desc.digest)).toString()) as { layers: Array<{ digest: `sha256:${string}` }> };
  const lines: string[] = [];
  for (const l of manifest.layers.slice(1)) {
    const out = execFileSync('tar', ['-tvzf', store.blobPath(l.digest), '--numeric-owner', '--full-time'], {
      encoding: 'utf8',
      env: { ...process.env, TZ: 'UTC' },
    });
    for (const line of out.split('\n').filter(Boolean)) {
      const f = line.split(/\s+/);
      lines.push(`${f[0]} ${f[1]} ${f[3]} ${f[4]} ${f.slice(5).join(' ')}`);
    }
  }
  return lines;
}

const STEPS = (nap: string): { install: string[]; setup: string[] } => ({
  install: [
    'mkdir -p /out',
    'mkfifo /out/fifo',
    'echo secret > /out/locked && chmod 000 /out/locked',
    'mkdir -p /out/ro/sub && echo in > /out/ro/sub/f && chmod 555 /out/ro/sub /out/ro',
    'mkdir /out/closed && echo hidden > /out/closed/f && chmod 000 /out/closed',
    // Metadata only: the content stays what the base image has.
    'chmod 600 /lower/meta && chown 1000:1000 /lower/meta',
    'touch -d "2001-02-03 04:05:06" /lower/stamp',
    // Left running when the step's shell exits: the pid namespace ends with the step.
    `(${nap} &) ; (while :; do echo tick >> /out/ticker; sleep 0.01; done &)`,
  ],
  setup: ['cat /out/locked /out/ro/sub/f /out/closed/f > /seen', 'test -p /out/fifo && echo fifo >> /seen', 'stat -c "%a %u:%g %s" /lower/meta >> /seen'],
});

function werfYaml(steps: { install: string[]; setup: string[] }): string {
  const list = (cmds: string[]): string => cmds.map((c) => `    - ${JSON.stringify(c)}`).join('\n');
  return `project: hs\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/hostile-base:1\nshell:\n  install:\n${list(steps.install)}\n  setup:\n${list(steps.setup)}\n`;
}

before(async () => {
  await withFileLock(join(tmpdir(), 'tsbuild-test-users.lock'), async () => ensureTestUser(USER, true), { timeoutMs: 300_000 });
  staged = await stagePackage();
});
after(async () => {
  await staged?.cleanup();
});

for (const user of [undefined, USER]) {
  describe(`steps that leave hostile trees (${user ? 'rootless' : 'root'})`, () => {
    let root: string;
    let project: string;
    const homes: string[] = [];
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'tsbuild-hs-'));
      project = join(root, 'project');
      await mkdir(project);
      if (user) execFileSync('chown', ['-R', `${user}:`, root]);
      await chmod(root, 0o755);
    });
    after(async () => {
      // As root: the store and snapshots of a rootless home are the user's subordinate ids'.
      await rm(root, { recursive: true, force: true });
    });

    async function freshHome(): Promise<string> {
      const home = join(root, `home${homes.length}`);
      homes.push(home);
      const tree = await busyboxTree();
      try {
        for (const a of ['chown', 'chmod', 'stat', 'touch', 'mkfifo', 'sleep']) await symlink('busybox', join(tree.dir, 'bin', a)).catch(() => undefined);
        await mkdir(join(tree.dir, 'lower'));
        await writeFile(join(tree.dir, 'lower', 'meta'), 'meta\n');
        await writeFile(join(tree.dir, 'lower', 'stamp'), 'stamp\n');
        await storeLocalImage(join(home, 'store'), 'local.test/hostile-base:1', tree.dir);
      } finally {
        await tree.cleanup();
      }
      if (user) execFileSync('chown', ['-R', `${user}:`, home]);
      return home;
    }

    async function writeProject(yaml: string): Promise<void> {
      await writeFile(join(project, 'werf.yaml'), yaml);
      if (user) execFileSync('chown', [`${user}:`, join(project, 'werf.yaml')]);
    }

    for (const snapshotter of ['overlayfs', 'native']) {
      test(`${snapshotter}: fifo, 000 file, 555 and 000 dirs, metadata-only changes are in the layer and the next stage; no step process outlives the build`, async () => {
        const home = await freshHome();
        const nap = `sleep ${100_000 + randomInt(800_000)}`;
        await writeProject(werfYaml(STEPS(nap)));
        const res = await cli(user, ['build', '--dir', project, '--pull', 'never', '--snapshotter', snapshotter], home);
        assert.equal(res.code, 0, res.stderr);
        assert.deepEqual(await noneLeft(nap), [], 'the background sleep of the step is gone');
        assert.deepEqual(await leftovers(home), []);
        assert.deepEqual(await checkStore(join(home, 'store')), []);

        const layers = await layerListing(home);
        const line = (path: string): string => layers.find((l) => l.endsWith(` ${path}`)) ?? `(no ${path} in:\n${layers.join('\n')})`;
        assert.match(line('out/fifo'), /^prw-r--r-- 0\/0 /);
        assert.match(line('out/locked'), /^---------- 0\/0 /);
        assert.match(line('out/ro/'), /^dr-xr-xr-x 0\/0 /);
        assert.match(line('out/ro/sub/'), /^dr-xr-xr-x 0\/0 /);
        assert.match(line('out/ro/sub/f'), /^-rw-r--r-- 0\/0 /);
        assert.match(line('out/closed/'), /^d--------- 0\/0 /);
        assert.match(line('out/closed/f'), /^-rw-r--r-- 0\/0 /);
        assert.match(line('lower/meta'), /^-rw------- 1000\/1000 /);
        assert.match(line('lower/stamp'), /^-rw-r--r-- 0\/0 2001-02-03 04:05:06/);

        // An independent unpacker reads the same image: contents of the closed entries included.
        const bundle = join(root, `bundle-${snapshotter}`);
        execFileSync('umoci', ['unpack', '--image', `${join(home, 'store')}:${finalRefName('hs', 'app')}`, bundle]);
        const rootfs = join(bundle, 'rootfs');
        assert.equal(await readFile(join(rootfs, 'out/locked'), 'utf8'), 'secret\n');
        assert.equal(await readFile(join(rootfs, 'out/closed/f'), 'utf8'), 'hidden\n');
        assert.equal(await readFile(join(rootfs, 'lower/meta'), 'utf8'), 'meta\n');
        assert.equal((await stat(join(rootfs, 'out/closed'))).mode & 0o7777, 0);
        assert.ok((await stat(join(rootfs, 'out/fifo'))).isFIFO());
        // The setup stage ran on what install left (the kept upper dir, or its unpacked layer).
        assert.equal(await readFile(join(rootfs, 'seen'), 'utf8'), 'secret\nin\nhidden\nfifo\n600 1000:1000 5\n');
        await rm(bundle, { recursive: true, force: true });
      });
    }

    test('kill -9 in the middle of such a step: stages gc removes what it left (000 and 555 dirs included), the next build succeeds', async () => {
      const home = await freshHome();
      const nap = `sleep ${100_000 + randomInt(800_000)}`;
      const steps = STEPS('true');
      // The step stops (forever) after it made its closed dirs.
      steps.install.push(nap);
      await writeProject(werfYaml(steps));
      let pgid = 0;
      let ended = false;
      const run = cli(user, ['build', '--dir', project, '--pull', 'never'], home, (p) => (pgid = p)).finally(() => (ended = true));
      while (processesWith(nap).length === 0 && !ended) await new Promise((r) => setTimeout(r, 100));
      if (ended) assert.fail(`the build ended before its step slept:\n${(await run).stderr}`);
      process.kill(-pgid, 'SIGKILL');
      await run;
      assert.deepEqual(await noneLeft(nap), [], 'no step process outlives the killed build');
      assert.deepEqual(await checkStore(join(home, 'store')), []);
      const gc = await cli(user, ['stages', 'gc'], home);
      assert.equal(gc.code, 0, gc.stderr);
      assert.deepEqual(await leftovers(home), [], `stages gc left:\n${gc.stdout}${gc.stderr}`);
      await writeProject(werfYaml(STEPS('true')));
      const next = await cli(user, ['build', '--dir', project, '--pull', 'never'], home);
      assert.equal(next.code, 0, next.stderr);
      assert.deepEqual(await leftovers(home), []);
    });
  });
}
