// Fake Sandbox and Snapshotter for the conveyor's unit tests: no bwrap, no overlayfs. Layers the
// fake commits are JSON ({files, deleted}); gzip tar layers (imports, git) are unpacked for real.
// The fake sandbox runs a build stage's script line by line with a tiny command language:
//   write PATH TEXT    create a file in the root filesystem
//   fail N             exit with N (the script's trap records which command failed)
//   hang               wait until the run is aborted
// Anything else is ignored. `tsbuild run` (no script) just records the spec and exits 0.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile, lstat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import type { ContentStore } from '../../lib/content/index.js';
import type { Digest } from '../../lib/digest.js';
import { TsbuildError } from '../../lib/errors.js';
import { unpackLayer } from '../../lib/layer/index.js';
import {
  TSBUILD_DIR,
  type CommittedLayer,
  type LayerSource,
  type PreparedSnapshot,
  type RunOptions,
  type RunResult,
  type RunSpec,
  type Sandbox,
  type Snapshotter,
} from '../../lib/sandbox/index.js';

export const FAKE_LAYER = 'application/vnd.tsbuild.test.layer.v1+json';

interface FakeLayer {
  files: Record<string, string>;
  deleted: string[];
}

async function bytesOf(r: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of r) chunks.push(Buffer.from(c as Buffer));
  return Buffer.concat(chunks);
}

/** Regular files under `root` as path -> content (paths with a leading slash). */
async function filesOf(root: string, rel = ''): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const name of await readdir(join(root, rel)).catch(() => [] as string[])) {
    const p = `${rel}/${name}`;
    const st = await lstat(join(root, p));
    if (st.isDirectory()) for (const [k, v] of await filesOf(root, p)) out.set(k, v);
    else if (st.isFile()) out.set(p, await readFile(join(root, p), 'utf8'));
  }
  return out;
}

export class FakeSnapshotter implements Snapshotter {
  readonly name = 'fake';
  private readonly snaps = new Map<string, { rootfs: string; before: Map<string, string> }>();
  /** Digests of the layers opened, in order (lazy fetching is observable). */
  readonly opened: string[] = [];

  constructor(
    private readonly store: ContentStore,
    private readonly root: string,
  ) {}

  get active(): number {
    return this.snaps.size;
  }

  async prepare(key: string, parents: LayerSource[]): Promise<PreparedSnapshot> {
    if (this.snaps.has(key)) throw new TsbuildError('TSB_INTERNAL', `snapshot ${key} is in use`);
    await mkdir(this.root, { recursive: true });
    const rootfs = await mkdtemp(join(this.root, 'snap-'));
    for (const p of parents) {
      const bytes = await bytesOf(p.open());
      this.opened.push(p.descriptor.digest);
      if (p.descriptor.mediaType === FAKE_LAYER) {
        const layer = JSON.parse(bytes.toString('utf8')) as FakeLayer;
        for (const d of layer.deleted) await rm(join(rootfs, d), { force: true });
        for (const [path, text] of Object.entries(layer.files)) {
          await mkdir(dirname(join(rootfs, path)), { recursive: true });
          await writeFile(join(rootfs, path), text);
        }
      } else {
        await unpackLayer(Readable.from([bytes]), rootfs, { mode: 'apply', compression: 'gzip', chown: false, xattrs: false });
      }
    }
    this.snaps.set(key, { rootfs, before: await filesOf(rootfs) });
    return { key, rootfs, placeholders: new Set() };
  }

  async commit(key: string, options: { skip: string[] }): Promise<CommittedLayer> {
    const snap = this.snaps.get(key);
    if (!snap) throw new TsbuildError('TSB_INTERNAL', `no snapshot ${key}`);
    const after = await filesOf(snap.rootfs);
    const skipped = (p: string): boolean => options.skip.some((s) => p === s || p.startsWith(`${s}/`));
    const layer: FakeLayer = { files: {}, deleted: [] };
    for (const [p, text] of after) if (!skipped(p) && snap.before.get(p) !== text) layer.files[p] = text;
    for (const p of snap.before.keys()) if (!after.has(p) && !skipped(p)) layer.deleted.push(p);
    const info = await this.store.writeJson(layer);
    const empty = Object.keys(layer.files).length === 0 && layer.deleted.length === 0;
    return { descriptor: { mediaType: FAKE_LAYER, digest: info.info.digest, size: info.info.size }, diffId: info.info.digest, empty };
  }

  async remove(key: string): Promise<void> {
    const snap = this.snaps.get(key);
    this.snaps.delete(key);
    if (snap) await rm(snap.rootfs, { recursive: true, force: true });
  }
}

/** A fake layer with the given files, stored, as a descriptor + diffId (for base images). */
export async function fakeLayer(
  store: ContentStore,
  files: Record<string, string>,
): Promise<{ descriptor: { mediaType: string; digest: Digest; size: number }; diffId: Digest }> {
  const info = await store.writeJson({ files, deleted: [] } satisfies FakeLayer);
  return { descriptor: { mediaType: FAKE_LAYER, digest: info.info.digest, size: info.info.size }, diffId: info.info.digest };
}

export class FakeSandbox implements Sandbox {
  readonly name = 'fake';
  /** Every run, in order. */
  readonly runs: RunSpec[] = [];

  async run(spec: RunSpec, options: RunOptions = {}): Promise<RunResult> {
    this.runs.push(spec);
    const script = spec.mounts.find((m) => m.target === `${TSBUILD_DIR}/script`);
    const status = spec.mounts.find((m) => m.target === `${TSBUILD_DIR}/status`);
    if (!script || !status) return { exitCode: 0 };
    const text = await readFile(join(script.source, 'run.sh'), 'utf8').catch(() => undefined);
    if (text === undefined) return { exitCode: 0 }; // an ansible stage: nothing to interpret
    let index = 0;
    for (const line of text.split('\n')) {
      const i = /^__tsb_i=(\d+)$/.exec(line);
      if (i) {
        index = Number(i[1]);
        continue;
      }
      const [cmd, ...args] = line.split(' ');
      if (cmd === 'write') {
        const path = join(spec.rootfs, args[0]!);
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, args.slice(1).join(' '));
        options.onOutput?.(Buffer.from(`wrote ${args[0]}\n`), 'stdout');
      } else if (cmd === 'fail') {
        await writeFile(join(status.source, 'failed'), `${index} ${args[0]}`);
        options.onOutput?.(Buffer.from('failing\n'), 'stdout');
        return { exitCode: Number(args[0]) };
      } else if (cmd === 'hang') {
        await new Promise<void>((resolve) => {
          if (options.signal?.aborted) resolve();
          options.signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        throw new TsbuildError('TSB_ABORTED', 'build aborted; the sandbox was stopped');
      }
    }
    return { exitCode: 0 };
  }
}
