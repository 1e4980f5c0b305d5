// One signature, one content: concurrent builders of the same project, with empty homes sharing a
// stages repository (--push --repo) or sharing one TSBUILD_HOME, end up on the same stages and
// report the same final digest, although their install stage writes random bytes. The wait for
// another build of the same stage is abortable and survives that build dying.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { seededRegistry } from '../support/seeded-registry.js';
import { runCli, startCli, tempDirs, type CliChild } from '../support/cli.js';
import { checkStore } from '../support/store-check.js';
import { waitUntil } from '../support/wait.js';

const exec = promisify(execFile);

interface Report {
  images: Array<{
    name: string;
    final: { digest: string };
    pushed?: { ref: string; digest: string };
    stages: Array<{ name: string; signature: string; status: string }>;
  }>;
}

const YAML = (base: string, project: string): string => `project: ${project}
configVersion: 1
---
image: app
from: ${base}
shell:
  install: [head -c 65536 /dev/urandom > /rand, sleep 1]
  setup: [echo setup > /setup]
docker:
  CMD: [cat, /setup]
`;

async function readRand(ref: string, dirs: ReturnType<typeof tempDirs>): Promise<Buffer> {
  const out = await dirs.make('conc-copy');
  await exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci:${join(out, 'layout')}:x`]);
  await exec('umoci', ['unpack', '--image', `${join(out, 'layout')}:x`, join(out, 'bundle')]);
  return readFile(join(out, 'bundle', 'rootfs', 'rand'));
}

describe('concurrent builders', () => {
  const seeded = seededRegistry();
  const dirs = tempDirs();
  after(() => dirs.cleanup());

  test('four runners with empty homes and --push --repo, then a fifth: one content per signature, one final digest', async (t) => {
    const project = await dirs.make('conc-project');
    await writeFile(join(project, 'werf.yaml'), YAML(seeded.base, 'race'));
    const repo = `${seeded.registry.host}/race-stages`;
    const run = async (): Promise<{ report: Report; stderr: string }> => {
      const home = await dirs.make('conc-runner');
      const reportPath = join(home, 'report.json');
      const res = await runCli(['build', '--dir', project, '--repo', repo, '--push', '--report-path', reportPath], { home });
      assert.equal(res.code, 0, res.stderr);
      return { report: JSON.parse(await readFile(reportPath, 'utf8')) as Report, stderr: res.stderr };
    };
    const four = await Promise.all([run(), run(), run(), run()]);
    const finals = four.map((r) => r.report.images[0]!.final.digest);
    const pushed = four.map((r) => r.report.images[0]!.pushed?.digest);
    t.diagnostic(`runners that used another's stage: ${four.filter((r) => /published to .* by another builder first; using theirs/.test(r.stderr)).length}`);
    assert.equal(new Set(finals).size, 1, `final digests: ${finals.join(' ')}`);
    assert.deepEqual(pushed, finals, 'what each pushed is what it reports');
    const installSig = four[0]!.report.images[0]!.stages.find((s) => s.name === 'install')!.signature;
    // The published stage, R/app:latest and every runner's result hold the same random bytes.
    const published = await readRand(`${repo}:${installSig}`, dirs);
    assert.deepEqual(await readRand(`${repo}/app:latest`, dirs), published);
    const latest = JSON.parse((await exec('skopeo', ['inspect', '--tls-verify=false', `docker://${repo}/app:latest`])).stdout) as { Digest: string };
    assert.equal(latest.Digest, finals[0]);
    // A fifth runner reuses everything and reports the same digest.
    const fifth = await run();
    assert.equal(fifth.report.images[0]!.final.digest, finals[0]);
    assert.deepEqual(new Set(fifth.report.images[0]!.stages.map((s) => s.status)), new Set(['cached']));
  });

  test('four builds of one project in one home at once: each stage built once, every reported digest is in the store', async (t) => {
    const project = await dirs.make('conc-project');
    await writeFile(join(project, 'werf.yaml'), YAML(seeded.base, 'samehome'));
    const home = await dirs.make('conc-home');
    const run = async (i: number): Promise<{ report: Report; stderr: string }> => {
      const reportPath = join(home, `report-${i}.json`);
      const res = await runCli(['build', '--dir', project, '--report-path', reportPath, '--log-format', 'plain'], { home });
      assert.equal(res.code, 0, res.stderr);
      return { report: JSON.parse(await readFile(reportPath, 'utf8')) as Report, stderr: res.stderr };
    };
    const all = await Promise.all([0, 1, 2, 3].map(run));
    const installBuilt = all.filter((r) => r.report.images[0]!.stages.find((s) => s.name === 'install')!.status === 'built').length;
    t.diagnostic(`builds that waited for another: ${all.filter((r) => /waiting for another build of app\/install/.test(r.stderr)).length}`);
    assert.equal(installBuilt, 1, 'install built exactly once');
    const finals = new Set(all.map((r) => r.report.images[0]!.final.digest));
    assert.equal(finals.size, 1, [...finals].join(' '));
    const digest = [...finals][0]!;
    const index = JSON.parse(await readFile(join(home, 'store', 'index.json'), 'utf8')) as {
      manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
    };
    assert.equal(index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'samehome/app:latest')?.digest, digest);
    assert.deepEqual(await checkStore(join(home, 'store')), []);
    await exec('umoci', ['unpack', '--image', `${join(home, 'store')}:samehome/app:latest`, join(await dirs.make('conc-umoci'), 'b')]);
  });

  test('the wait for another build of a stage is abortable and survives the other process dying', async () => {
    const project = await dirs.make('conc-project');
    await writeFile(join(project, 'werf.yaml'), YAML(seeded.base, 'waiter'));
    const home = await dirs.make('conc-home');
    const plan = await runCli(['plan', '--dir', project, '--log-format', 'json'], { home });
    assert.equal(plan.code, 0, plan.stderr);
    const fromSig = (JSON.parse(plan.stdout) as { images: Array<{ stages: Array<{ name: string; signature: string }> }> }).images[0]!.stages.find(
      (s) => s.name === 'from',
    )!.signature;
    const lockFile = join(home, 'locks', 'stages', `waiter-${fromSig}.lock`);
    // "Another build": a process holding the stage's lock the way tsbuild does (flock).
    await mkdir(dirname(lockFile), { recursive: true });
    const holder = spawn('flock', ['-F', lockFile, 'sleep', '600'], { stdio: 'ignore' });
    await waitUntil(
      async () =>
        await exec('flock', ['-n', '-E', '75', lockFile, 'true']).then(
          () => false,
          (err: { code?: number }) => err.code === 75,
        ),
      'the holder has the stage lock',
    );
    const start = (): CliChild => startCli(['build', '--dir', project, '--log-format', 'plain'], { home });
    // Abortable: Ctrl-C while waiting ends the build with 130.
    const first = start();
    await Promise.race([first.saw(/waiting for another build of app\/from/), first.exited]);
    assert.match(first.stderr(), /waiting for another build of app\/from/);
    first.child.kill('SIGINT');
    assert.equal(await first.exited, 130, first.stderr());
    // The other build dies (kill -9): the waiting build goes on and finishes.
    const second = start();
    await Promise.race([second.saw(/waiting for another build of app\/from/), second.exited]);
    assert.match(second.stderr(), /waiting for another build of app\/from/);
    holder.kill('SIGKILL');
    assert.equal(await second.exited, 0, second.stderr());
    assert.match(second.stderr(), /\[app\] from\s+built/);
  });
});
