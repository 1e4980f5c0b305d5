// Secrets are read-only in ansible stages too (issue 14): the ansible stage runner mounted them
// writable. A task reading /run/secrets/<id> works; one writing it in place fails.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { installStapel } from './ansible-support.js';

describe('secrets in ansible stages', () => {
  test('are read-only: a task writing /run/secrets/<id> fails, one reading it works', async () => {
    const root = await mkdtemp(join(tmpdir(), 'tsbuild-escape-ansible-'));
    try {
      const home = join(root, 'home');
      const project = join(root, 'project');
      await mkdir(project, { recursive: true });
      await installStapel(home);
      const tree = await busyboxTree();
      try {
        await storeLocalImage(join(home, 'store'), 'local.test/busybox:ansible', tree.dir, { Env: ['PATH=/bin'] });
      } finally {
        await tree.cleanup();
      }
      const yaml = (task: string): string =>
        `project: esc-ansible\nconfigVersion: 1\n---\nimage: app\nfrom: local.test/busybox:ansible\nsecrets:\n- id: token\n  value: s3cret\nansible:\n  install:\n  - ${task}\n`;
      await writeFile(join(project, 'werf.yaml'), yaml('shell: "grep -q s3cret /run/secrets/token && echo read > /read-ok"'));
      const read = await runCli(['build', '--dir', project, '--pull', 'never'], { home });
      assert.equal(read.code, 0, read.stderr);
      // Written in place (copy would rename onto the mount point, which fails either way).
      await writeFile(join(project, 'werf.yaml'), yaml('shell: "echo overwritten > /run/secrets/token"'));
      const write = await runCli(['build', '--dir', project, '--pull', 'never'], { home });
      assert.notEqual(write.code, 0, 'writing a secret must fail');
      assert.match(write.stderr, /read-only/i, write.stderr);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
