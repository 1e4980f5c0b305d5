// End to end: `tsbuild build --push` on a real registry and real bubblewrap, verified with skopeo/umoci.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile, writeFile, access, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);

interface Report {
  images: Array<{
    name: string;
    final: { digest: string; ref: string };
    stages: Array<{ name: string; signature: string; status: string; durationMs: number; reason?: string }>;
  }>;
}

function werfYaml(
  base: string,
  o: { install?: string[]; installCacheVersion?: string; beforeInstallCacheVersion?: string; cacheVersion?: string; setup?: string[] } = {},
): string {
  const list = (xs: string[]): string => xs.map((x) => `    - ${JSON.stringify(x)}`).join('\n');
  return `project: hello
configVersion: 1
---
image: hello
from: ${base}
shell:
  beforeInstall:
${list(['mkdir -p /app', 'echo base > /app/base.txt', 'rm /etc/motd || true', 'echo installed-once >> /app/runs.log'])}
  install:
${list(o.install ?? ['echo install > /app/install.txt', 'rm /app/base.txt'])}
  setup:
${list(o.setup ?? ['echo "hello from tsbuild" > /app/greeting', 'echo "#!/bin/sh" > /app/hello.sh', 'echo "cat /app/greeting; echo arg=\\$1" >> /app/hello.sh', 'chmod +x /app/hello.sh'])}
${o.cacheVersion ? `  cacheVersion: ${JSON.stringify(o.cacheVersion)}\n` : ''}${o.installCacheVersion ? `  installCacheVersion: ${JSON.stringify(o.installCacheVersion)}\n` : ''}${o.beforeInstallCacheVersion ? `  beforeInstallCacheVersion: ${JSON.stringify(o.beforeInstallCacheVersion)}\n` : ''}docker:
  ENV:
    GREETING: hi
    MODE: demo
  WORKDIR: /app
  ENTRYPOINT: ["/app/hello.sh"]
  CMD: ["world"]
  LABEL:
    org.example.team: builders
  EXPOSE: ["8080", "9090/udp"]
  USER: "1000"
  VOLUME: /data
`;
}

describe('tsbuild build (walking skeleton)', () => {
  let registry: RunningRegistry;
  let base: string;
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
    home = await tempDir('home');
    project = await tempDir('project');
  });
  after(async () => {
    await registry?.stop();
    await home?.cleanup();
    await project?.cleanup();
  });

  async function build(yaml: string, extra: string[] = []): Promise<{ report: Report; stderr: string; stdout: string; code: number }> {
    await writeFile(join(project.path, 'werf.yaml'), yaml);
    const reportPath = join(project.path, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--report-path', reportPath, ...extra], { home: home.path });
    if (res.code !== 0) return { report: { images: [] }, ...res };
    return { report: JSON.parse(await readFile(reportPath, 'utf8')) as Report, ...res };
  }

  const statuses = (r: Report): Record<string, string> => Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));

  test('first build runs every stage and pushes an image skopeo and umoci can read', async () => {
    const repo = `${registry.host}/demo`;
    const res = await build(werfYaml(base), ['--push', '--repo', repo]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(statuses(res.report), { from: 'built', beforeInstall: 'built', install: 'built', setup: 'built', dockerInstructions: 'built' });
    for (const s of res.report.images[0]!.stages) assert.match(s.signature, /^[a-f0-9]{64}$/);
    assert.match(res.report.images[0]!.final.digest, /^sha256:[a-f0-9]{64}$/);

    const { stdout } = await exec('skopeo', ['inspect', '--tls-verify=false', '--config', `docker://${repo}/hello:latest`]);
    const cfg = JSON.parse(stdout) as { config: Record<string, unknown> };
    const c = cfg.config as {
      Env: string[];
      WorkingDir: string;
      Entrypoint: string[];
      Cmd: string[];
      Labels: Record<string, string>;
      ExposedPorts: Record<string, unknown>;
      User: string;
      Volumes: Record<string, unknown>;
    };
    assert.ok(c.Env.includes('GREETING=hi') && c.Env.includes('MODE=demo'), JSON.stringify(c.Env));
    assert.equal(c.WorkingDir, '/app');
    assert.deepEqual(c.Entrypoint, ['/app/hello.sh']);
    assert.deepEqual(c.Cmd, ['world']);
    assert.equal(c.Labels['org.example.team'], 'builders');
    assert.deepEqual(Object.keys(c.ExposedPorts).sort(), ['8080/tcp', '9090/udp']);
    assert.equal(c.User, '1000');
    assert.deepEqual(Object.keys(c.Volumes), ['/data']);

    const out = await tempDir('umoci');
    try {
      await exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', `docker://${repo}/hello:latest`, `oci:${out.path}/layout:hello`]);
      await exec('umoci', ['unpack', '--image', `${out.path}/layout:hello`, `${out.path}/bundle`]);
      const rootfs = join(out.path, 'bundle', 'rootfs');
      assert.equal(await readFile(join(rootfs, 'app/install.txt'), 'utf8'), 'install\n');
      assert.equal(await readFile(join(rootfs, 'app/greeting'), 'utf8'), 'hello from tsbuild\n');
      await assert.rejects(access(join(rootfs, 'app/base.txt')), 'a file deleted by install must not be in the image');
      await assert.rejects(access(join(rootfs, 'etc/motd')), 'a base file deleted by beforeInstall must not be in the image');
      assert.ok((await readdir(join(rootfs, 'bin'))).includes('busybox'));
      // bwrap mount points never end up in a layer.
      await assert.rejects(access(join(rootfs, '.tsbuild')));
    } finally {
      await out.cleanup();
    }
  });

  test('a second build with nothing changed runs no command and reports every stage cached', async () => {
    const res = await build(werfYaml(base), ['--log-format', 'json']);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(new Set(Object.values(statuses(res.report))), new Set(['cached']));
    assert.doesNotMatch(res.stderr, /"type":"stage.start"/);
  });

  test('changing install commands rebuilds install and later stages only, and says why', async () => {
    const res = await build(werfYaml(base, { install: ['echo install-v2 > /app/install.txt', 'rm /app/base.txt'] }));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(statuses(res.report), { from: 'cached', beforeInstall: 'cached', install: 'built', setup: 'built', dockerInstructions: 'built' });
    const install = res.report.images[0]!.stages.find((s) => s.name === 'install')!;
    assert.match(install.reason ?? '', /commands changed/);
    const setup = res.report.images[0]!.stages.find((s) => s.name === 'setup')!;
    assert.match(setup.reason ?? '', /previous stage/);
  });

  test('installCacheVersion rebuilds from install; beforeInstallCacheVersion and cacheVersion from beforeInstall', async () => {
    let res = await build(werfYaml(base, { installCacheVersion: '2' }));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(statuses(res.report), { from: 'cached', beforeInstall: 'cached', install: 'built', setup: 'built', dockerInstructions: 'built' });
    res = await build(werfYaml(base, { installCacheVersion: '2', beforeInstallCacheVersion: '2' }));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(statuses(res.report).from, 'cached');
    assert.equal(statuses(res.report).beforeInstall, 'built');
    res = await build(werfYaml(base, { installCacheVersion: '2', beforeInstallCacheVersion: '2', cacheVersion: 'x' }));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(statuses(res.report).from, 'cached');
    assert.equal(statuses(res.report).beforeInstall, 'built');
    // The earlier configuration is still stored: going back is fully cached.
    res = await build(werfYaml(base));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(new Set(Object.values(statuses(res.report))), new Set(['cached']));
  });

  test('tsbuild run runs the final image with its entrypoint and passes the exit code through', async () => {
    await writeFile(join(project.path, 'werf.yaml'), werfYaml(base));
    let res = await runCli(['run', '--dir', project.path, 'hello'], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout, 'hello from tsbuild\narg=world\n');
    res = await runCli(['run', '--dir', project.path, 'hello', '--', 'there'], { home: home.path });
    assert.equal(res.stdout, 'hello from tsbuild\narg=there\n');
    // Runs as USER 1000 in WORKDIR /app with the image's env only.
    await writeFile(join(project.path, 'werf.yaml'), werfYaml(base).replace('ENTRYPOINT: ["/app/hello.sh"]', 'ENTRYPOINT: ["/bin/sh", "-c"]'));
    res = await build(werfYaml(base).replace('ENTRYPOINT: ["/app/hello.sh"]', 'ENTRYPOINT: ["/bin/sh", "-c"]'));
    assert.equal(res.code, 0, res.stderr);
    res = await runCli(['run', '--dir', project.path, 'hello', '--', 'id -u; pwd; echo "$GREETING:${TSBUILD_HOME:-unset}"; exit 7'], {
      home: home.path,
    });
    assert.equal(res.code, 7, res.stderr);
    assert.equal(res.stdout, '1000\n/app\nhi:unset\n');
  });

  test('a failing command names image, stage and command; the fixed build reuses earlier stages', async () => {
    const broken = werfYaml(base, { setup: ['echo before-failure', 'echo some diagnostics >&2; false', 'echo never'] });
    let res = await build(broken);
    assert.equal(res.code, 1);
    assert.match(res.stderr, /image "hello", stage setup: command failed with exit code 1: echo some diagnostics >&2; false/);
    assert.match(res.stderr, /some diagnostics/);
    assert.doesNotMatch(res.stderr, /^\s*never/m);
    // The store is still a valid OCI layout.
    const layout = join(home.path, 'store');
    await exec('umoci', ['ls', '--layout', layout]);
    res = await build(werfYaml(base, { setup: ['echo fixed > /app/fixed'] }));
    assert.equal(res.code, 0, res.stderr);
    const st = statuses(res.report);
    assert.equal(st.install, 'cached');
    assert.equal(st.beforeInstall, 'cached');
    assert.equal(st.setup, 'built');
  });

  test('fromLatest puts the registry digest of the base into the from signature', async () => {
    const latestBase = `${registry.host}/moving/base:latest`;
    await exec('skopeo', ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${base}`, `docker://${latestBase}`]);
    const yaml = (from: string): string =>
      `project: latest\nconfigVersion: 1\n---\nimage: app\nfrom: ${from}\nfromLatest: true\nshell:\n  install:\n  - ls /marker || echo no marker\n`;
    let res = await build(yaml(latestBase));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(statuses(res.report).from, 'built');
    res = await build(yaml(latestBase));
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(new Set(Object.values(statuses(res.report))), new Set(['cached']));
    // Move the tag to another image: the from stage (and everything after it) is rebuilt on it.
    await exec('skopeo', [
      'copy',
      '--quiet',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${registry.host}/demo/hello:latest`,
      `docker://${latestBase}`,
    ]);
    res = await build(yaml(latestBase));
    assert.equal(res.code, 0, res.stderr);
    assert.equal(statuses(res.report).from, 'built');
    assert.match(res.report.images[0]!.stages[0]!.reason ?? '', /latestDigest changed/);
    assert.equal(statuses(res.report).install, 'built');
  });
});
