// `tsbuild stapel build`: Debian's ansible-core and python3 with their library closure, unpacked with
// dpkg -x into one tree, plus tsbuild's launchers, stored as a one-layer OCI image. The layer is
// reproducible (sorted entries, mtimes clamped to a fixed epoch, no build time in the config), so
// the same package versions give the same digest on any host.
import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, writeFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ImageStore } from '../content/index.js';
import { TsbuildError } from '../errors.js';
import { writeLayerFromDir } from '../layer/index.js';
import { MediaType, TSBUILD_ANNOTATION, formatReference, parseReference, type Descriptor } from '../oci/index.js';
import { DEFAULT_STAPEL_IMAGE, STAPEL_FORMAT, STAPEL_IN_SANDBOX, STAPEL_PACKAGES_LABEL, STAPEL_TOOLS_DIR } from './stapel-layout.js';
import { describePackages, resolveClosure, type DebPackage } from './packages.js';
import { downloadDebs } from './download.js';
import {
  PYTHON_VERSION,
  STAPEL_ANSIBLE_PLAYBOOK,
  STAPEL_PYTHON,
  STAPEL_TOOLS,
  ansiblePlaybookLauncher,
  pythonLauncher,
  sitecustomize,
  toolLauncher,
} from './toolchain-files.js';

const exec = promisify(execFile);

/** Every mtime in the layer is at most this (2024-01-01T00:00:00Z). */
const STAPEL_EPOCH = 1704067200;

/** Parts of the packages nothing runs: documentation, man pages, message catalogs. */
const DROPPED = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/lintian', 'usr/share/locale', 'usr/share/bug'];

export interface StapelBuildOptions {
  store: ImageStore;
  /** Where .deb files are kept between builds. */
  debCache: string;
  tmpDir: string;
  /** Stored under this name (default tsbuild/stapel:<format>). */
  name?: string | undefined;
  onProgress?: ((message: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}

export interface StapelBuildResult {
  name: string;
  descriptor: Descriptor;
  packages: DebPackage[];
  layerSize: number;
  uncompressedSize: number;
}

export async function buildStapel(opts: StapelBuildOptions): Promise<StapelBuildResult> {
  const progress = opts.onProgress ?? (() => undefined);
  const names = await resolveClosure();
  const packages = await describePackages(names);
  progress(`${packages.length} packages: ${packages.map((p) => p.name).join(' ')}`);
  const debs = await downloadDebs(packages, opts.debCache, { onProgress: progress, signal: opts.signal });
  const work = await mkdtemp(join(opts.tmpDir, 'stapel-'));
  try {
    const root = join(work, 'root');
    await mkdir(root);
    progress('unpacking with dpkg -x');
    for (const deb of debs) await exec('dpkg', ['-x', deb, root], { maxBuffer: 16 << 20 });
    for (const d of DROPPED) await rm(join(root, d), { recursive: true, force: true });
    await pruneCollections(root);
    await addLaunchers(root, packages);
    progress('compiling python bytecode');
    await compileBytecode(root);
    await smokeTest(root);
    progress('writing the layer');
    const layer = await writeLayerFromDir(root, opts.store, { sourceDateEpoch: STAPEL_EPOCH, xattrs: false, signal: opts.signal });
    const config = await opts.store.writeJson({
      architecture: 'amd64',
      os: 'linux',
      config: {
        Labels: {
          'dev.tsbuild.stapel.format': STAPEL_FORMAT,
          [STAPEL_PACKAGES_LABEL]: packages.map((p) => `${p.name}=${p.version}`).join('\n'),
        },
      },
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created_by: `tsbuild stapel build: ${packages.length} Debian packages (ansible-core, python${PYTHON_VERSION})` }],
    });
    const manifest = await opts.store.writeJson({
      schemaVersion: 2,
      mediaType: MediaType.OciManifest,
      config: { mediaType: MediaType.OciConfig, ...config.info },
      layers: [layer.descriptor],
    });
    const descriptor: Descriptor = { mediaType: MediaType.OciManifest, ...manifest.info };
    const name = formatReference(parseReference(opts.name ?? DEFAULT_STAPEL_IMAGE));
    await opts.store.setRef(name, descriptor, { [TSBUILD_ANNOTATION.kind]: 'stapel' });
    return { name, descriptor, packages, layerSize: layer.descriptor.size, uncompressedSize: layer.uncompressedSize };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** Collections holding modules of werf's whitelist; the other ~80 of Debian's ansible package are removed. */
const KEPT_COLLECTIONS = new Set(['community/general', 'community/crypto', 'ansible/posix']);

async function pruneCollections(root: string): Promise<void> {
  const base = join(root, 'usr/lib/python3/dist-packages/ansible_collections');
  for (const ns of await readdir(base).catch(() => [] as string[])) {
    const nsDir = join(base, ns);
    const entries = await readdir(nsDir).catch(() => [] as string[]);
    for (const name of entries) {
      if (!KEPT_COLLECTIONS.has(`${ns}/${name}`)) await rm(join(nsDir, name), { recursive: true, force: true });
      else await rm(join(nsDir, name, 'tests'), { recursive: true, force: true });
    }
    if ((await readdir(nsDir).catch(() => [] as string[])).length === 0) await rm(nsDir, { recursive: true, force: true });
  }
}

async function addLaunchers(root: string, packages: DebPackage[]): Promise<void> {
  for (const [rel, text] of [
    [STAPEL_PYTHON, pythonLauncher()],
    [STAPEL_ANSIBLE_PLAYBOOK, ansiblePlaybookLauncher()],
  ] as const) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
    await chmod(join(root, rel), 0o755);
  }
  for (const [tool, rel] of Object.entries(STAPEL_TOOLS)) {
    await mkdir(join(root, STAPEL_TOOLS_DIR), { recursive: true });
    await writeFile(join(root, STAPEL_TOOLS_DIR, tool), toolLauncher(rel));
    await chmod(join(root, STAPEL_TOOLS_DIR, tool), 0o755);
  }
  // Debian's sitecustomize is a symlink into /etc of the host; ours replaces it.
  const site = join(root, 'usr', 'lib', `python${PYTHON_VERSION}`, 'sitecustomize.py');
  await rm(site, { force: true });
  await writeFile(site, sitecustomize(), { mode: 0o644 });
  await writeFile(join(root, 'tsbuild', 'packages.txt'), packages.map((p) => `${p.name} ${p.version} ${p.architecture}\n`).join(''));
  for (const must of ['lib/x86_64-linux-gnu/ld-linux-x86-64.so.2', `usr/bin/python${PYTHON_VERSION}`, 'usr/bin/ansible-playbook', 'usr/lib/locale/C.utf8']) {
    const dir = join(root, must, '..');
    const entries = await readdir(dir).catch(() => [] as string[]);
    if (!entries.includes(must.split('/').pop()!)) {
      throw new TsbuildError('TSB_TOOL_MISSING', `the unpacked packages lack ${must}`, {
        hint: "the toolchain is made from Debian bookworm (amd64) packages; check the host's apt sources",
      });
    }
  }
}

/** The toolchain's python on the host, started the way the launcher starts it inside a sandbox. */
function hostPython(root: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const libs = `${root}/lib/x86_64-linux-gnu:${root}/usr/lib/x86_64-linux-gnu`;
  return exec(join(root, 'lib/x86_64-linux-gnu/ld-linux-x86-64.so.2'), ['--library-path', libs, join(root, `usr/bin/python${PYTHON_VERSION}`), ...args], {
    // A fixed hash seed keeps frozenset constants in .pyc files in one order (reproducible layer).
    env: {
      PYTHONHOME: join(root, 'usr'),
      LOCPATH: join(root, 'usr/lib/locale'),
      LANG: 'C.UTF-8',
      LC_ALL: 'C.UTF-8',
      OPENSSL_CONF: '/dev/null',
      PYTHONDONTWRITEBYTECODE: '1',
      PYTHONHASHSEED: '0',
    },
    maxBuffer: 64 << 20,
  });
}

/**
 * Debian compiles .pyc files in maintainer scripts, which dpkg -x does not run; without them every
 * python start (ansible-playbook, and each module run) compiles its imports again on the read-only
 * mount. unchecked-hash pycs do not depend on source mtimes (which the layer clamps); file names in
 * them are the in-sandbox paths, not the temporary build directory.
 */
async function compileBytecode(root: string): Promise<void> {
  const dirs = [`usr/lib/python${PYTHON_VERSION}`, 'usr/lib/python3/dist-packages'].map((d) => join(root, d));
  await hostPython(root, [
    '-m',
    'compileall',
    '-q',
    '-j',
    '1',
    '--invalidation-mode',
    'unchecked-hash',
    '-s',
    root,
    '-p',
    STAPEL_IN_SANDBOX,
    '-x',
    '/(test|tests|idlelib|lib2to3|tkinter|turtledemo)/',
    ...dirs,
  ]).catch((err: { stdout?: string; stderr?: string }) => {
    // compileall exits 1 when some file does not compile (python 2 leftovers in tests); the rest is compiled.
    if (!/Error/.test(err.stdout ?? '') && !/Error/.test(err.stderr ?? '')) throw err;
  });
}

/** Ansible must import with the toolchain's own loader and libraries. */
async function smokeTest(root: string): Promise<void> {
  try {
    await hostPython(root, ['-c', 'import ansible.release, jinja2, yaml; print(ansible.release.__version__)']);
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new TsbuildError('TSB_TOOL_MISSING', `the toolchain's python does not start: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`, {
      hint: 'a package of the closure is probably missing; see STAPEL_PRUNED in lib/stapel/packages.ts',
      cause: err,
    });
  }
}
