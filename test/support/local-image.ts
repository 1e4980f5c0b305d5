// Put a hand-made image (a directory tree, e.g. a hostile one) into a tsbuild store under a
// reference name, as if it had been pulled: builds then use it without any network access.
import { cp, mkdtemp, rm, symlink, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { writeLayerFromDir } from '../../lib/layer/index.js';
import { MediaType, formatReference, parseReference, type ContainerConfig } from '../../lib/oci/index.js';

const exec = promisify(execFile);

/** A busybox root (binary + sh/ls/cat… links) in a fresh temp dir; the caller adds to it. */
export async function busyboxTree(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-tree-'));
  await mkdir(join(dir, 'bin'));
  await cp('/bin/busybox', join(dir, 'bin', 'busybox'));
  const { stdout } = await exec('/bin/busybox', ['--list']);
  for (const a of stdout.split('\n').filter((x) => /^[a-z0-9_.[-]+$/.test(x) && x !== 'busybox')) {
    await symlink('busybox', join(dir, 'bin', a));
  }
  for (const d of ['etc', 'tmp', 'root']) await mkdir(join(dir, d));
  await writeFile(join(dir, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000::/home/user:/bin/sh\n');
  await writeFile(join(dir, 'etc', 'group'), 'root:x:0:\nuser:x:1000:\n');
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export async function storeLocalImage(storeDir: string, ref: string, tree: string, config: ContainerConfig = {}): Promise<string> {
  const store = new LayoutStore(storeDir);
  await store.init();
  const layer = await writeLayerFromDir(tree, store, {});
  const cfg = await store.writeJson({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'], ...config },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
  });
  const manifest = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, ...cfg.info },
    layers: [layer.descriptor],
  });
  const name = formatReference(parseReference(ref));
  await store.setRef(name, { mediaType: MediaType.OciManifest, ...manifest.info });
  return name;
}

/** A fresh TSBUILD_HOME whose store already holds a busybox image as `local.test/base:1`. */
export async function homeWithLocalBase(prefix: string): Promise<{ path: string; cleanup(): Promise<void> }> {
  const home = await mkdtemp(join(tmpdir(), `tsbuild-${prefix}-`));
  const tree = await busyboxTree();
  try {
    await storeLocalImage(join(home, 'store'), 'local.test/base:1', tree.dir);
  } finally {
    await tree.cleanup();
  }
  return { path: home, cleanup: () => rm(home, { recursive: true, force: true }) };
}
