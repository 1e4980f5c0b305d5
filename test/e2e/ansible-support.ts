// Shared set-up of the ansible e2e tests: the stapel toolchain is built once per machine and version
// of its builder (cached under /var/cache/tsbuild-test, keyed by the compiled builder's sources) and
// hard-linked into each test's TSBUILD_HOME; a Debian root from debootstrap is cached the same way.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { copyFile, link, mkdir, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { LayoutStore } from '../../lib/content/index.js';
import { withFileLock } from '../../lib/internal/file-lock.js';
import { DEFAULT_STAPEL_IMAGE } from '../../lib/stapel/index.js';
import { formatReference, parseReference, type Descriptor } from '../../lib/oci/index.js';
import type { Digest } from '../../lib/digest.js';
import { runCli, HANG_GUARD_MS } from '../support/cli.js';

const exec = promisify(execFile);
export const TEST_CACHE = process.env.TSBUILD_TEST_CACHE ?? '/var/cache/tsbuild-test';
const DIST_LIB = fileURLToPath(new URL('../../lib/', import.meta.url));

/** The compiled code that decides the toolchain's bytes (the layer writer included: the e2e compares digests). */
async function builderKey(): Promise<string> {
  const h = createHash('sha256');
  for (const dir of ['stapel', 'conveyor/ansible', 'layer']) {
    for (const f of (await readdir(join(DIST_LIB, dir))).filter((n) => n.endsWith('.js')).sort()) {
      h.update(f).update(await readFile(join(DIST_LIB, dir, f)));
    }
  }
  return h.digest('hex').slice(0, 16);
}

export interface StapelFixture {
  /** TSBUILD_HOME holding the toolchain (built with the CLI). */
  home: string;
  name: string;
  descriptor: Descriptor;
  /** .deb cache shared by every toolchain build of the tests. */
  debCache: string;
}

let fixture: Promise<StapelFixture> | undefined;

/** The toolchain, built with `tsbuild stapel build` the first time on this machine. */
export function stapelFixture(): Promise<StapelFixture> {
  fixture ??= (async () => {
    const key = await builderKey();
    const home = join(TEST_CACHE, `stapel-${key}`);
    const debCache = join(TEST_CACHE, 'stapel-debs');
    const name = formatReference(parseReference(DEFAULT_STAPEL_IMAGE));
    await mkdir(TEST_CACHE, { recursive: true });
    return withFileLock(
      join(TEST_CACHE, 'stapel.lock'),
      async () => {
        let desc = await new LayoutStore(join(home, 'store')).resolve(name).catch(() => undefined);
        if (!desc) {
          const res = await runCli(['stapel', 'build', '--deb-cache', debCache], { home, timeoutMs: HANG_GUARD_MS });
          if (res.code !== 0) throw new Error(`tsbuild stapel build failed:\n${res.stderr}`);
          desc = await new LayoutStore(join(home, 'store')).resolve(name);
        }
        if (!desc) throw new Error('the toolchain is not in the fixture store after stapel build');
        return { home, name, descriptor: desc, debCache };
      },
      { timeoutMs: HANG_GUARD_MS },
    );
  })();
  return fixture;
}

/** Put an image of one store into another (blobs hard-linked) under the same name. */
export async function copyStoredImage(fromStore: string, toStore: string, name: string): Promise<Descriptor> {
  const src = new LayoutStore(fromStore);
  const dst = new LayoutStore(toStore);
  await dst.init();
  const desc = await src.resolve(name);
  if (!desc) throw new Error(`${name} is not in ${fromStore}`);
  const manifest = await src.readJson<{ config: Descriptor; layers: Descriptor[] }>(desc.digest);
  for (const d of [desc.digest, manifest.config.digest, ...manifest.layers.map((l) => l.digest)] as Digest[]) {
    const target = dst.blobPath(d);
    if (
      await stat(target).then(
        () => true,
        () => false,
      )
    )
      continue;
    await mkdir(join(target, '..'), { recursive: true });
    await link(src.blobPath(d), target).catch(() => copyFile(src.blobPath(d), target));
  }
  await dst.setRef(name, desc, { 'dev.tsbuild.kind': 'stapel' });
  return desc;
}

/** The toolchain in a test's TSBUILD_HOME. */
export async function installStapel(home: string): Promise<Descriptor> {
  const f = await stapelFixture();
  return copyStoredImage(join(f.home, 'store'), join(home, 'store'), f.name);
}

/** A minimal Debian bookworm root (debootstrap --variant=minbase), made once and kept as a tarball. */
export async function debianRoot(dest: string): Promise<void> {
  const tarball = join(TEST_CACHE, 'debian-bookworm-minbase.tar');
  await mkdir(TEST_CACHE, { recursive: true });
  await withFileLock(
    join(TEST_CACHE, 'debian.lock'),
    async () => {
      if (
        await stat(tarball).then(
          () => true,
          () => false,
        )
      )
        return;
      const work = join(TEST_CACHE, `debootstrap-${process.pid}`);
      await rm(work, { recursive: true, force: true });
      try {
        await exec('debootstrap', ['--variant=minbase', 'bookworm', work, 'http://deb.debian.org/debian'], { maxBuffer: 64 << 20, timeout: HANG_GUARD_MS });
        await exec('rm', ['-rf', join(work, 'var/cache/apt/archives'), join(work, 'var/lib/apt/lists')]);
        await mkdir(join(work, 'var/cache/apt/archives/partial'), { recursive: true });
        await mkdir(join(work, 'var/lib/apt/lists/partial'), { recursive: true });
        await exec('tar', ['--numeric-owner', '-C', work, '-cf', `${tarball}.tmp`, '.'], { maxBuffer: 16 << 20 });
        await rename(`${tarball}.tmp`, tarball);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    { timeoutMs: HANG_GUARD_MS },
  );
  await mkdir(dest, { recursive: true });
  await exec('tar', ['--numeric-owner', '-C', dest, '-xf', tarball], { maxBuffer: 16 << 20 });
}
