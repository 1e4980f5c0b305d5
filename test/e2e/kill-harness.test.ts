// kill -9 of a build's whole process group at chosen and random moments — during the base image
// pull, the stage command, layer packing and store write, the push — at least 20 times, then: the
// store passes the checker after every kill, the next build succeeds (skopeo and umoci read its
// result), and after the next build or `tsbuild stages gc` no temp dir, active snapshot or mount of
// the killed builds is left. Half the builds keep their mounts in the host namespace
// (TSBUILD_PRIVATE_MOUNTS=0), so the sweep of leftover mounts is exercised too.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { seededRegistry } from '../support/seeded-registry.js';
import { runCli, startCli, tempDirs } from '../support/cli.js';
import { checkStore } from '../support/store-check.js';
import { waitUntil } from '../support/wait.js';

const exec = promisify(execFile);

type Phase = 'pull' | 'command' | 'packing' | 'push' | 'random';

// What the build prints when it reaches each phase (plain log lines, cli/event-printer.ts).
const TRIGGER: Record<Exclude<Phase, 'random'>, RegExp> = {
  pull: /^\S+ pull /m,
  command: /│ in-command/,
  packing: /│ command-done/,
  push: /^\S+ push /m,
};

function mountsUnder(dir: string, mountinfo: string): string[] {
  return mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

async function leftovers(home: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['tmp', 'snapshots/active', 'snapshots/tmp', 'store/.tmp']) {
    for (const n of await readdir(join(home, sub)).catch(() => [] as string[])) out.push(`${sub}/${n}`);
  }
  return out;
}

/** Whether a process of the group is left (the kernel reaps SIGKILLed ones a moment after the kill). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('kill -9 harness', () => {
  const seeded = seededRegistry();
  const dirs = tempDirs();
  after(async () => {
    const info = await readFile('/proc/self/mountinfo', 'utf8');
    for (const m of mountsUnder('/tmp', info).filter((p) => p.includes('tsbuild-kill-home'))) await exec('umount', ['-l', m]).catch(() => undefined);
    await dirs.cleanup();
  });

  test('≥20 kills at every phase: store intact, next build and stages gc leave nothing behind', async (t) => {
    const project = await dirs.make('kill-project');
    // A stages repository per home: a fresh home then really pulls the base image.
    let repo = `${seeded.registry.host}/kill-stages-ref`;
    const yaml = (round: number): string => `project: kill
configVersion: 1
---
image: app
from: ${seeded.base}
shell:
  beforeInstall: [mkdir -p /opt]
  install:
    - echo round-${round} > /opt/round
    - head -c 3145728 /dev/urandom > /opt/data
    - echo in-command
    - sleep 0.2
    - echo command-done
docker:
  CMD: [cat, /opt/round]
`;
    const schedule: Phase[][] = [
      ['pull', 'command', 'packing', 'push'],
      ['pull', 'command', 'packing', 'push'],
      ['pull', 'command', 'packing', 'push'],
      ['pull', 'command', 'packing', 'push'],
      ['random', 'random', 'random', 'random'],
      ['random', 'random', 'random', 'random'],
    ];
    // How long an unkilled build of a fresh home takes: random moments fall within it.
    const t0 = Date.now();
    await writeFile(join(project, 'werf.yaml'), yaml(-1));
    const reference = await runCli(['build', '--dir', project, '--repo', repo, '--push'], { home: await dirs.make('kill-home') });
    assert.equal(reference.code, 0, reference.stderr);
    const span = Date.now() - t0;

    let round = 0;
    let kills = 0;
    let sawLeftovers = 0;
    let sawHostMounts = 0;
    const killedIn: Record<string, number> = {};
    // A random moment falls within this window; when a build ends before its moment (later builds in
    // a home reuse stages and a loaded machine varies), the round is run again with half the window,
    // so the number of kills does not depend on how fast the machine is.
    let randomWindow = span * 0.8;
    for (const [h, phases] of schedule.entries()) {
      const home = await dirs.make('kill-home');
      repo = `${seeded.registry.host}/kill-stages-${h}`;
      for (let p = 0; p < phases.length; p++) {
        const phase = phases[p]!;
        round++;
        await writeFile(join(project, 'werf.yaml'), yaml(round));
        // Alternating, and shifted per home so that every phase is hit both ways.
        const privateMounts = (round + h) % 2 === 0;
        const mountsBefore = new Set(mountsUnder(home, await readFile('/proc/self/mountinfo', 'utf8')));
        const build = startCli(['build', '--dir', project, '--repo', repo, '--push', '--log-format', 'plain'], {
          home,
          env: { TSBUILD_PRIVATE_MOUNTS: privateMounts ? '1' : '0' },
          detached: true,
        });
        const { child, exited } = build;
        const reached = phase === 'random' ? sleep(Math.floor(Math.random() * randomWindow)) : build.saw(TRIGGER[phase]);
        const first = await Promise.race([reached.then(() => 'kill' as const), exited.then(() => 'exited' as const)]);
        if (first === 'exited') {
          // The build finished before the moment came: it must have succeeded.
          assert.equal(await exited, 0, `round ${round} (${phase}) ended on its own with an error:\n${build.stderr()}`);
          if (phase === 'random' && randomWindow > 1) {
            randomWindow /= 2;
            p--;
          }
          continue;
        }
        if (phase === 'packing' || phase === 'pull') await sleep(Math.floor(Math.random() * 40));
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch (err) {
          // The build ended between its trigger line and the kill (a short random pause after it):
          // nothing was killed; like a build that ends before its moment, it must have succeeded.
          if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
          assert.equal(await exited, 0, `round ${round} (${phase}) ended on its own with an error:\n${build.stderr()}`);
          continue;
        }
        await exited;
        await waitUntil(() => !groupAlive(child.pid!), `process group ${child.pid} gone after SIGKILL`);
        kills++;
        const lastLine = build.stderr().trim().split('\n').pop() ?? '';
        killedIn[phase] = (killedIn[phase] ?? 0) + 1;
        t.diagnostic(`round ${round}: killed in ${phase} (private mounts: ${privateMounts}) after: ${lastLine.slice(0, 100)}`);
        assert.deepEqual(await checkStore(join(home, 'store')), [], `store after kill ${kills}`);
        if ((await leftovers(home)).length > 0) sawLeftovers++;
        const hostMounts = mountsUnder(home, await readFile('/proc/self/mountinfo', 'utf8'));
        // (Mounts an earlier host-namespace round left may still be there if this one died before its sweep.)
        if (privateMounts)
          assert.deepEqual(
            hostMounts.filter((m) => !mountsBefore.has(m)),
            [],
            'a build in a private mount namespace leaves no mount on the host',
          );
        else if (hostMounts.length > 0) sawHostMounts++;
      }
      // Cleanup by `stages gc` first (even homes) or by the next build (odd homes); then the other.
      const gcFirst = h % 2 === 0;
      if (gcFirst) {
        const gc = await runCli(['stages', 'gc'], { home });
        assert.equal(gc.code, 0, gc.stderr);
        assert.deepEqual(await leftovers(home), [], 'stages gc removed every leftover');
        assert.deepEqual(mountsUnder(home, await readFile('/proc/self/mountinfo', 'utf8')), [], 'stages gc unmounted every leftover mount');
      }
      await writeFile(join(project, 'werf.yaml'), yaml(round));
      const next = await runCli(['build', '--dir', project, '--repo', repo, '--push', '--log-format', 'plain'], { home });
      assert.equal(next.code, 0, next.stderr);
      const pushed = /pushed to (\S+)/.exec(next.stdout);
      const digest = /image app: (sha256:[a-f0-9]{64})/.exec(next.stdout)?.[1];
      assert.ok(pushed && digest, next.stdout);
      assert.deepEqual(await leftovers(home), [], 'the next build removed every leftover and left nothing itself');
      assert.deepEqual(mountsUnder(home, await readFile('/proc/self/mountinfo', 'utf8')), [], 'no mount left under the home');
      assert.deepEqual(await checkStore(join(home, 'store')), []);
      const inspected = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${pushed[1]}`])).stdout) as { Digest: string };
      assert.equal(inspected.Digest, digest);
      const out = await dirs.make('kill-umoci');
      await exec('umoci', ['unpack', '--image', `${join(home, 'store')}:kill/app:latest`, join(out, 'bundle')]);
      assert.equal(await readFile(join(out, 'bundle', 'rootfs', 'opt', 'round'), 'utf8'), `round-${round}\n`);
      if (!gcFirst) {
        const gc = await runCli(['stages', 'gc'], { home });
        assert.equal(gc.code, 0, gc.stderr);
        assert.deepEqual(await leftovers(home), []);
      }
    }
    t.diagnostic(
      `kills: ${kills} ${JSON.stringify(killedIn)}; rounds with leftovers right after the kill: ${sawLeftovers}; with host mounts: ${sawHostMounts}; reference build ${span} ms`,
    );
    assert.ok(kills >= 20, `only ${kills} kills`);
    assert.ok(sawLeftovers > 0, 'no kill left anything to clean: the harness did not kill mid-work');
    for (const p of ['pull', 'command', 'packing', 'push']) assert.ok((killedIn[p] ?? 0) > 0, `no kill during ${p}`);
  });
});
