// A minimal busybox base image for tests, built with real tools only (GNU tar, gzip, skopeo) so
// that it is independent of tsbuild's own layer and registry code. The OCI layout is made once per
// process and pushed with skopeo wherever a test asks.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readFile, rename, symlink, writeFile, chmod, rm } from 'node:fs/promises';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);

const BUSYBOX = process.env.TSBUILD_TEST_BUSYBOX ?? '/bin/busybox';
const LAYOUT_TAG = 'latest';
const FIXED_TIME = '2024-01-01T00:00:00Z';
// Applets every test shell needs; all other applets busybox knows are linked too.
const REQUIRED_APPLETS = [
  'sh',
  'ls',
  'cat',
  'echo',
  'rm',
  'mkdir',
  'id',
  'touch',
  'chown',
  'chmod',
  'env',
  'pwd',
  'sleep',
  'test',
  'grep',
  'sed',
  'awk',
  'printf',
  'cp',
  'mv',
  'ln',
  'true',
  'false',
  'head',
  'tail',
  'wc',
  'sort',
  'find',
  'stat',
  'whoami',
  'uname',
  'tar',
  'gzip',
  'sha256sum',
  'readlink',
  'dirname',
  'basename',
  'xargs',
];

export interface BusyboxLayout {
  /** OCI image layout directory; the image is tagged `latest` in it. */
  dir: string;
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
  diffId: string;
}

let layoutPromise: Promise<BusyboxLayout> | undefined;
let layoutRoot: string | undefined;

function sha256Hex(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

async function writeBlob(layout: string, data: Uint8Array): Promise<{ digest: string; size: number }> {
  const hex = sha256Hex(data);
  await writeFile(join(layout, 'blobs', 'sha256', hex), data);
  return { digest: `sha256:${hex}`, size: data.length };
}

async function makeRootfs(root: string): Promise<void> {
  for (const d of ['bin', 'etc', 'root', 'tmp', 'home/user', 'usr/bin', 'var', 'dev', 'proc', 'sys']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await copyFile(BUSYBOX, join(root, 'bin', 'busybox'));
  await chmod(join(root, 'bin', 'busybox'), 0o755);
  const { stdout } = await execFileP(BUSYBOX, ['--list']);
  const applets = new Set([
    ...REQUIRED_APPLETS,
    ...stdout
      .split('\n')
      .map((s) => s.trim())
      .filter((s) => /^[\w.[-]+$/.test(s)),
  ]);
  applets.delete('busybox');
  for (const a of [...applets].sort()) {
    if (a.includes('/')) continue;
    await symlink('busybox', join(root, 'bin', a));
  }
  await writeFile(
    join(root, 'etc', 'passwd'),
    'root:x:0:0:root:/root:/bin/sh\nuser:x:1000:1000:user:/home/user:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(join(root, 'etc', 'group'), 'root:x:0:\nuser:x:1000:\nnogroup:x:65534:\n');
  await writeFile(join(root, 'etc', 'hostname'), 'busybox\n');
  await chmod(join(root, 'tmp'), 0o1777);
  await chmod(join(root, 'root'), 0o700);
}

async function buildLayout(): Promise<BusyboxLayout> {
  layoutRoot = await mkdtemp(join(tmpdir(), 'tsbuild-busybox-'));
  process.once('exit', () => {
    if (layoutRoot) rmSync(layoutRoot, { recursive: true, force: true });
  });
  const rootfs = join(layoutRoot, 'rootfs');
  await makeRootfs(rootfs);
  const tarPath = join(layoutRoot, 'layer.tar');
  // Reproducible tar: sorted, everything owned by 0:0 (numeric), fixed mtime, no atime/ctime.
  await execFileP('tar', [
    '--sort=name',
    '--format=pax',
    '--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime',
    '--mtime=@1704067200',
    '--numeric-owner',
    '--owner=0',
    '--group=0',
    '-C',
    rootfs,
    '-cf',
    tarPath,
    'bin',
    'dev',
    'etc',
    'home',
    'proc',
    'root',
    'sys',
    'tmp',
    'usr',
    'var',
  ]);
  const tarBytes = await readFile(tarPath);
  await execFileP('gzip', ['-n', '-6', tarPath]);
  const gzBytes = await readFile(`${tarPath}.gz`);
  const dir = join(layoutRoot, 'oci');
  await mkdir(join(dir, 'blobs', 'sha256'), { recursive: true });
  await writeFile(join(dir, 'oci-layout'), '{"imageLayoutVersion":"1.0.0"}');
  const layer = await writeBlob(dir, gzBytes);
  const diffId = `sha256:${sha256Hex(tarBytes)}`;
  const config = {
    created: FIXED_TIME,
    architecture: 'amd64',
    os: 'linux',
    config: {
      Env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'],
      Cmd: ['sh'],
      WorkingDir: '/',
    },
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created: FIXED_TIME, created_by: 'tsbuild test fixture: busybox rootfs' }],
  };
  const configBlob = await writeBlob(dir, Buffer.from(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...layer }],
  };
  const manifestBlob = await writeBlob(dir, Buffer.from(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [
      {
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        ...manifestBlob,
        annotations: { 'org.opencontainers.image.ref.name': LAYOUT_TAG },
      },
    ],
  };
  await writeFile(join(dir, 'index.tmp.json'), JSON.stringify(index));
  await rename(join(dir, 'index.tmp.json'), join(dir, 'index.json'));
  await rm(rootfs, { recursive: true, force: true });
  await rm(`${tarPath}.gz`, { force: true });
  return { dir, manifestDigest: manifestBlob.digest, configDigest: configBlob.digest, layerDigest: layer.digest, diffId };
}

/** The busybox image as an OCI layout (built once per process). */
export function busyboxLayout(): Promise<BusyboxLayout> {
  layoutPromise ??= buildLayout();
  return layoutPromise;
}

export interface SeedOptions {
  repo?: string;
  tag?: string;
  /** Only false is meaningful: the test registries are plain http. */
  tlsVerify?: false;
  /** USER:PASS for a registry with basic auth. */
  creds?: string;
}

/** Push the busybox image to HOST/REPO:TAG with skopeo; returns the reference it was pushed to. */
export async function seedBusyboxImage(host: string, opts: SeedOptions = {}): Promise<{ ref: string; layout: BusyboxLayout }> {
  const layout = await busyboxLayout();
  const repo = opts.repo ?? 'library/busybox';
  const tag = opts.tag ?? 'latest';
  const ref = `${host}/${repo}:${tag}`;
  const args = ['copy', '--quiet', '--dest-tls-verify=false'];
  if (opts.creds) args.push('--dest-creds', opts.creds);
  args.push(`oci:${layout.dir}:${LAYOUT_TAG}`, `docker://${ref}`);
  try {
    await execFileP('skopeo', args, { timeout: 120_000 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`skopeo ${args.join(' ')} failed: ${e.stderr ?? e.message}`);
  }
  return { ref, layout };
}
