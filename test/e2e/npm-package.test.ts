// The npm package as a user gets it: `npm pack` of a clean copy of the checkout (prepare builds
// dist/, prepack the prebuilt addons), installed with `npm install -g --prefix` on a PATH without
// any compiler, builds and runs the example against a local registry holding the test busybox.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { copyFile, cp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, tempDirs } from '../support/cli.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';

const exec = promisify(execFile);
const SYSTEM_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
/** Compilers, build tools and interpreters node-gyp needs: none of them may be on the user's PATH. */
const BUILD_TOOL = /^(cc|c\+\+|c89|c99|cpp|ld|ld\..*|as|tcc|node-gyp|musl-.*|.*-linux-gnu-.*)$|gcc|g\+\+|clang|make|python/;

/** A directory of links to every system program except compilers, plus this node and its npm. */
async function compilerFreePath(dir: string): Promise<string> {
  await mkdir(dir);
  const seen = new Set<string>();
  const link = async (name: string, target: string): Promise<void> => {
    if (seen.has(name)) return;
    seen.add(name);
    await symlink(target, join(dir, name));
  };
  await link('node', process.execPath);
  const npm = [join(dirname(process.execPath), 'npm'), ...SYSTEM_DIRS.map((d) => join(d, 'npm'))].find((p) => existsSync(p));
  assert.ok(npm, 'npm next to node or in a system directory');
  await link('npm', npm);
  for (const d of SYSTEM_DIRS) {
    if (!existsSync(d)) continue;
    for (const name of readdirSync(d)) if (!BUILD_TOOL.test(name)) await link(name, join(d, name));
  }
  return dir;
}

/** The checkout's files as a clone would have them (tracked and new, not ignored), without build output. */
async function cleanCopy(dest: string): Promise<void> {
  const { stdout } = await exec('git', ['-C', REPO_ROOT, 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], { maxBuffer: 64 << 20 });
  for (const rel of stdout.split('\0').filter(Boolean)) {
    if (!existsSync(join(REPO_ROOT, rel))) continue; // deleted in the work tree
    await mkdir(dirname(join(dest, rel)), { recursive: true });
    await copyFile(join(REPO_ROOT, rel), join(dest, rel));
  }
  // The dev dependencies (tsc, esbuild) that `npm pack` runs, as `npm ci` would have installed them.
  await symlink(join(REPO_ROOT, 'node_modules'), join(dest, 'node_modules'));
}

/** ELF machine field: 62 x86-64, 183 AArch64. */
function elfMachine(file: string): number {
  const head = readFileSync(file).subarray(0, 20);
  assert.equal(head.subarray(0, 4).toString('latin1'), '\x7fELF', `${file} is an ELF file`);
  return head.readUInt16LE(18);
}

describe('npm package', () => {
  const temps = tempDirs();
  let registry: RunningRegistry;
  let work: string;
  let tarball: string;
  let extracted: string;

  before(async () => {
    work = await temps.make('npm-package');
    registry = await startRegistry();
  });
  after(async () => {
    await registry?.stop();
    await temps.cleanup();
  });

  test('npm pack of a clean checkout builds dist/ and the prebuilt addons into the package', async () => {
    const src = join(work, 'src');
    await cleanCopy(src);
    assert.ok(!existsSync(join(src, 'dist')) && !existsSync(join(src, 'prebuilds')), 'the copy starts without build output');
    await exec('npm', ['pack', '--pack-destination', work, '--loglevel=error'], { cwd: src, maxBuffer: 64 << 20 });
    const packed = (await readdir(work)).filter((f) => f.endsWith('.tgz'));
    assert.equal(packed.length, 1, packed.join(' '));
    tarball = join(work, packed[0]!);
    const files = (await exec('tar', ['-tzf', tarball], { maxBuffer: 16 << 20 })).stdout.split('\n').filter(Boolean);
    for (const f of [
      'package/bin/tsbuild',
      'package/bin/tsbuild.js',
      'package/dist/cli/main.js',
      'package/bin/start.cjs',
      'package/bin/cli-cache.cjs',
      'package/bin/produce-code-cache.cjs',
      'package/bin/warm-up-registry.cjs',
      'package/dist/bundle/cli-all.cjs',
      'package/dist/bundle/cli-all.cjs.v8cache',
      'package/dist/bundle/cli-build.cjs.v8cache',
      'package/dist/bundle/cli-image.cjs.v8cache',
      'package/dist/bundle/cli-image-transfer.cjs.v8cache',
      'package/dist/bundle/cli-version.cjs.v8cache',
      'package/dist/bundle/gzip-worker.js',
      'package/dist/lib/layer/fsx.js',
      'package/native/fsx.c',
      'package/native/load-fsx.cjs',
      'package/native/install.cjs',
      'package/binding.gyp',
    ]) {
      assert.ok(files.includes(f), `${f} in the package`);
    }
    assert.deepEqual(
      files.filter((f) => /\.test\.js|^package\/dist\/test\//.test(f)),
      [],
      'no tests in the package',
    );
    extracted = join(work, 'extracted');
    await mkdir(extracted);
    await exec('tar', ['-xzf', tarball, '-C', extracted]);
    const prebuilds = join(extracted, 'package', 'prebuilds');
    assert.equal(elfMachine(join(prebuilds, 'linux-x64', 'fsx.napi.glibc.node')), 62);
    assert.equal(elfMachine(join(prebuilds, 'linux-x64', 'fsx.napi.musl.node')), 62);
    assert.equal(elfMachine(join(prebuilds, 'linux-arm64', 'fsx.napi.glibc.node')), 183);
    const needed = (f: string): string => spawnSync('readelf', ['-d', join(prebuilds, f)], { encoding: 'utf8' }).stdout;
    assert.match(needed('linux-x64/fsx.napi.musl.node'), /Shared library: \[libc\.so\]/);
    assert.match(needed('linux-arm64/fsx.napi.glibc.node'), /Shared library: \[libc\.so\.6\]/);
  });

  test('npm install -g on a PATH without a compiler uses the prebuilt addon and builds the example', async () => {
    assert.ok(tarball, 'the package was packed by the test before');
    const path = await compilerFreePath(join(work, 'bin'));
    for (const tool of ['cc', 'gcc', 'g++', 'make', 'python3']) {
      assert.equal(spawnSync(tool, ['--version'], { env: { PATH: path } }).error?.message.includes('ENOENT'), true, `${tool} is not on the install PATH`);
    }
    const prefix = join(work, 'prefix');
    // This environment (proxy, CA certificates for the registry) with that PATH and nothing that
    // names a compiler or python for node-gyp.
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: path };
    for (const k of Object.keys(env)) if (/^(CC|CXX|LINK|PYTHON|npm_config_python|npm_config_node_gyp)$/i.test(k)) delete env[k];
    // --foreground-scripts shows what the install script chose; --prefer-offline takes what it can
    // from the npm cache the checkout's `npm ci` filled.
    const install = await exec('npm', ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--foreground-scripts', tarball], {
      env,
      maxBuffer: 64 << 20,
    });
    const output = install.stdout + install.stderr;
    assert.match(output, /tsbuild: native addon prebuilds\/linux-x64\/fsx\.napi\.glibc\.node/, output);
    assert.doesNotMatch(output, /node-gyp|gyp info|compiling/, output);
    const installed = join(prefix, 'lib', 'node_modules', 'tsbuild');
    assert.ok(!existsSync(join(installed, 'build')), 'nothing was compiled');

    const base = (await seedBusyboxImage(registry.host, { repo: 'library/busybox', tag: '1.36' })).ref;
    const project = join(work, 'hello');
    await cp(join(REPO_ROOT, 'examples', 'hello'), project, { recursive: true });
    const tsbuild = join(prefix, 'bin', 'tsbuild');
    const runEnv = { ...env, TSBUILD_HOME: join(work, 'home'), BASE_IMAGE: base };
    const built = await exec(tsbuild, ['build', '--dir', project, '--report-path', join(work, 'report.json')], { env: runEnv, maxBuffer: 64 << 20 });
    assert.match(built.stdout + built.stderr, /hello/);
    const report = JSON.parse(readFileSync(join(work, 'report.json'), 'utf8')) as { images: Array<{ name?: string; stages: Array<{ status: string }> }> };
    assert.ok(
      report.images[0]!.stages.some((s) => s.status === 'built'),
      JSON.stringify(report),
    );
    const ran = await exec(tsbuild, ['run', '--dir', project, 'hello'], { env: runEnv });
    assert.match(ran.stdout, /Hello from a tsbuild image, world!/);
    assert.match(ran.stdout, /GREETING=bonjour/);

    // Where no binary fits (here: the prebuilt ones taken away), a build that needs the addon
    // stops with the platform named and the way out.
    await rm(join(installed, 'prebuilds'), { recursive: true });
    await writeFile(
      join(project, 'werf.yaml'),
      readFileSync(join(project, 'werf.yaml'), 'utf8').replace('cat /app/built.txt', 'cat /app/built.txt; echo changed'),
    );
    const failed = await exec(tsbuild, ['build', '--dir', project], { env: runEnv, maxBuffer: 64 << 20 }).then(
      () => assert.fail('the build needs the addon'),
      (err: { code: number; stderr: string }) => err,
    );
    assert.equal(failed.code, 4, failed.stderr);
    assert.match(failed.stderr, /native addon fsx is missing for linux-x64 \(glibc\).*no prebuilt binary for this platform/);
    assert.match(failed.stderr, /C toolchain/);
  });
});
