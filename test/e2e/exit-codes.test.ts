// Exit codes by kind (docs/errors.md): environment problems exit 4 saying what and where, config
// files that cannot be read exit 2 as config errors — never "your command failed" or "internal error".
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli, tempDirs, type CliResult } from '../support/cli.js';
import { stagePackage, type StagedPackage } from '../support/staged-package.js';

let staged: StagedPackage | undefined;
import { busyboxTree, storeLocalImage } from '../support/local-image.js';

const exec = promisify(execFile);

const YAML = `project: codes\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/base:1\nshell:\n  install: [echo hi > /hi]\n`;

/** The CLI as root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH, so file modes apply to it. */
// Without CAP_DAC_OVERRIDE the CLI must read itself through 'other' permission bits: as root it
// re-runs in a user namespace where the checkout's owner is not its own uid, and a checkout may sit
// in a directory only root can enter (/root/...). So it runs a world-readable staged copy.
async function runWithoutDacOverride(args: string[], home: string): Promise<CliResult> {
  staged ??= await stagePackage();
  const pkg = staged;
  return new Promise((resolve, reject) => {
    const child = spawn('setpriv', ['--bounding-set=-dac_override,-dac_read_search', pkg.node, pkg.bin, ...args], {
      env: { ...process.env, TSBUILD_HOME: home },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

describe('exit codes by kind', () => {
  const dirs = tempDirs();
  const mounts: string[] = [];
  after(async () => {
    for (const m of mounts) await exec('umount', ['-l', m]).catch(() => undefined);
    await dirs.cleanup();
    await staged?.cleanup();
  });

  async function project(): Promise<string> {
    const dir = await dirs.make('codes-project');
    await writeFile(join(dir, 'werf.yaml'), YAML);
    return dir;
  }

  async function homeWithBase(storeOnTmpfs?: string): Promise<string> {
    const home = await dirs.make('codes-home');
    if (storeOnTmpfs) {
      await mkdir(join(home, 'store'));
      await exec('mount', ['-t', 'tmpfs', '-o', `size=${storeOnTmpfs}`, 'tmpfs', join(home, 'store')]);
      mounts.push(join(home, 'store'));
    }
    const tree = await busyboxTree();
    try {
      await storeLocalImage(join(home, 'store'), 'local.test/base:1', tree.dir);
    } finally {
      await tree.cleanup();
    }
    return home;
  }

  test('a werf.yaml the user cannot read is a config error (exit 2), not an internal error', {
    skip: process.getuid?.() !== 0 && 'needs root to drop CAP_DAC_OVERRIDE',
  }, async () => {
    const dir = await project();
    await chmod(join(dir, 'werf.yaml'), 0o000);
    const res = await runWithoutDacOverride(['build', '--dir', dir], await dirs.make('codes-home'));
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, new RegExp(`tsbuild: config error: ${join(dir, 'werf.yaml')}: cannot read the config: EACCES`));
    assert.match(res.stderr, /hint: make it readable/);
    assert.doesNotMatch(res.stderr, /internal error/);
  });

  test('a werf.yaml that is a symlink loop or a directory is a config error (exit 2)', async () => {
    const loop = await dirs.make('codes-loop');
    await symlink('werf.yaml', join(loop, 'werf.yaml'));
    let res = await runCli(['build', '--dir', loop], { home: await dirs.make('codes-home') });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /config error: .*werf\.yaml: cannot read the config: ELOOP/);
    const asDir = await dirs.make('codes-dir');
    await mkdir(join(asDir, 'werf.yaml'));
    res = await runCli(['render', '--dir', asDir], { home: await dirs.make('codes-home') });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /config error: .*werf\.yaml: cannot read the config: .*is not a regular file/);
  });

  test('a bubblewrap that is missing or not executable is an environment error (exit 4), not a failed command', async () => {
    const home = await homeWithBase();
    const dir = await project();
    const copy = join(await dirs.make('codes-bwrap'), 'bwrap');
    await copyFile('/usr/bin/bwrap', copy);
    await chmod(copy, 0o644);
    let res = await runCli(['build', '--dir', dir], { home, env: { TSBUILD_BWRAP: copy } });
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, new RegExp(`bubblewrap at ${copy} is not executable \\(EACCES\\)`));
    assert.doesNotMatch(res.stderr, /fix the command/);
    res = await runCli(['build', '--dir', dir], { home, env: { TSBUILD_BWRAP: `${copy}-missing` } });
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, /bubblewrap not found at/);
  });

  test('no space left while packing a layer: exit 4 naming the snapshot and the store it was writing to', {
    skip: process.getuid?.() !== 0 && 'mounting a small tmpfs needs root',
  }, async () => {
    const home = await homeWithBase('4m');
    const dir = await dirs.make('codes-enospc');
    await writeFile(join(dir, 'werf.yaml'), YAML.replace('[echo hi > /hi]', '[head -c 8388608 /dev/urandom > /big]'));
    const res = await runCli(['build', '--dir', dir], { home });
    assert.equal(res.code, 4, res.stderr);
    assert.match(res.stderr, new RegExp(`packing the layer of .*: no space left on device writing a blob into the store ${join(home, 'store')}`));
    assert.match(res.stderr, /hint: free space/);
  });
});
