// A usrmerged base (/bin, /sbin, /lib are symlinks into /usr, as on Debian ≥ 12), built with umoci:
// a git file into /bin, imports into /bin and through the source's /bin, then a shell stage that
// runs /bin/sh and both files. Nothing may turn /bin into a directory (that hid /bin/sh: exit 127).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, readFile, readdir, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { readStoredImage } from '../../lib/image/index.js';
import { MediaType, type ImageIndex } from '../../lib/oci/index.js';
import type { Digest } from '../../lib/digest.js';
import { runCli, tempDirs } from '../support/cli.js';

const exec = promisify(execFile);
const BASE = 'local.test/usrmerged:1';

/** Build the base with umoci (an independent tool) and put it into the home's store as BASE. */
async function usrmergedBase(work: string, storeDir: string): Promise<void> {
  const layout = join(work, 'layout');
  await exec('umoci', ['init', '--layout', layout]);
  await exec('umoci', ['new', '--image', `${layout}:base`]);
  await exec('umoci', ['unpack', '--image', `${layout}:base`, join(work, 'bundle')]);
  const root = join(work, 'bundle', 'rootfs');
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'etc', 'tmp', 'root']) await mkdir(join(root, d), { recursive: true });
  await copyFile('/bin/busybox', join(root, 'usr/bin/busybox'));
  for (const a of ['sh', 'cat', 'ls', 'echo', 'readlink', 'chmod', 'printf', 'mkdir']) await symlink('busybox', join(root, 'usr/bin', a));
  for (const d of ['bin', 'sbin', 'lib']) await symlink(`usr/${d}`, join(root, d));
  await writeFile(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
  await writeFile(join(root, 'etc/group'), 'root:x:0:\n');
  await exec('umoci', ['repack', '--image', `${layout}:base`, join(work, 'bundle')]);
  await exec('umoci', ['config', '--image', `${layout}:base`, '--config.env', 'PATH=/usr/bin:/bin']);
  const store = new LayoutStore(storeDir);
  await store.init();
  for (const f of await readdir(join(layout, 'blobs', 'sha256'))) {
    await store.write(createReadStream(join(layout, 'blobs', 'sha256', f)), { digest: `sha256:${f}` as Digest });
  }
  const index = JSON.parse(await readFile(join(layout, 'index.json'), 'utf8')) as ImageIndex;
  const desc = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === 'base');
  assert.ok(desc);
  await store.setRef(BASE, { mediaType: MediaType.OciManifest, digest: desc.digest, size: desc.size });
}

const YAML = `project: um
configVersion: 1
---
artifact: builder
from: ${BASE}
shell:
  install:
  - printf '#!/bin/sh\\necho built-main\\n' > /bin/main
  - chmod 755 /bin/main
---
image: app
from: ${BASE}
git:
- add: /tool.sh
  to: /bin/tool.sh
import:
- artifact: builder
  add: /bin/main
  to: /bin/main
  after: install
- artifact: builder
  add: /usr/bin/main
  to: /bin/main-b
  after: install
- artifact: builder
  add: /bin
  to: /opt/bin-copy
  includePaths: [main]
  after: install
shell:
  setup:
  - /bin/sh -c 'echo sh works' > /result
  - /bin/tool.sh >> /result
  - /bin/main >> /result
  - /bin/main-b >> /result
  - /opt/bin-copy/main >> /result
`;

describe('usrmerged base: /bin stays the symlink through git, imports and stages', () => {
  const temps = tempDirs();
  let home: string;
  let project: string;

  before(async () => {
    home = await temps.make('um-home');
    await usrmergedBase(await temps.make('um-base'), join(home, 'store'));
    project = await temps.make('um-project');
    await writeFile(join(project, 'werf.yaml'), YAML);
    await writeFile(join(project, 'tool.sh'), '#!/bin/sh\necho tool\n', { mode: 0o755 });
    const git = (...args: string[]): Promise<unknown> => exec('git', ['-C', project, ...args]);
    await git('init', '-q');
    await git('add', '-A');
    await git('-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'init');
  });
  after(() => temps.cleanup());

  test('the shell stage runs /bin/sh and finds the git file and the imported files', async () => {
    const res = await runCli(['build', '--dir', project, '--pull', 'never'], { home });
    assert.equal(res.code, 0, res.stderr);
    for (const snapshotter of ['overlayfs', 'native']) {
      const run = await runCli(['run', '--dir', project, '--snapshotter', snapshotter, 'app', '--', '/bin/sh', '-c', 'cat /result; readlink /bin'], { home });
      assert.equal(run.code, 0, run.stderr);
      assert.equal(run.stdout, 'sh works\ntool\nbuilt-main\nbuilt-main\nbuilt-main\nusr/bin\n', snapshotter);
    }
  });

  test('the layers put the files where /bin points, as Docker and umoci apply them', async () => {
    const store = new LayoutStore(join(home, 'store'));
    const desc = await store.resolve('um/app:latest');
    assert.ok(desc);
    const img = await readStoredImage(store, desc);
    for (const l of img.manifest.layers) {
      const { stdout } = await exec('tar', ['-tzf', store.blobPath(l.digest)], { maxBuffer: 64 << 20 });
      const names = stdout.split('\n').map((n) => n.replace(/^\.\//, ''));
      assert.ok(
        !names.some((n) => n === 'bin/' || n.startsWith('bin/')),
        `layer ${l.digest} writes below /bin: ${names.filter((n) => n.startsWith('bin')).join(' ')}`,
      );
    }
    const out = await temps.make('um-unpack');
    await exec('umoci', ['unpack', '--image', `${join(home, 'store')}:um/app:latest`, join(out, 'b')]);
    const root = join(out, 'b', 'rootfs');
    assert.equal(await readlink(join(root, 'bin')), 'usr/bin');
    for (const f of ['tool.sh', 'main', 'main-b', 'sh']) assert.ok((await readdir(join(root, 'usr/bin'))).includes(f), f);
    assert.deepEqual(await readdir(join(root, 'opt/bin-copy')), ['main']);
  });

  test('an import of a missing path names the image, the import and where the path led', async () => {
    const bad = await temps.make('um-bad');
    await writeFile(
      join(bad, 'werf.yaml'),
      `project: umbad\nconfigVersion: 1\n---\nartifact: builder\nfrom: ${BASE}\n---\nimage: bad\nfrom: ${BASE}\nimport:\n- artifact: builder\n  add: /bin/nope\n  to: /x\n  after: install\n`,
    );
    const res = await runCli(['build', '--dir', bad, '--pull', 'never'], { home });
    assert.equal(res.code, 2, res.stderr);
    assert.match(
      res.stderr,
      /image "bad", import of artifact "builder": "\/bin\/nope" does not exist in the source image \(it resolves to "\/usr\/bin\/nope" there\)/,
    );
  });
});
