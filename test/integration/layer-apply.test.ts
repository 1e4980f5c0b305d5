// Differential test of what a stage sees: seeded random layer stacks, built as OCI images, listed
// from inside the bwrap sandbox on both snapshotters and compared entry by entry with `umoci unpack`
// of the same image (an independent applier). Many stacks share one image (each under its own top
// directory), so a few hundred stacks cost a handful of sandbox runs. A difference names its seed;
// LAYER_APPLY_SEEDS=N,M reruns only those stacks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import { writeLayerFromEntries, type LayerEntrySource } from '../../lib/layer/index.js';
import { MediaType } from '../../lib/oci/index.js';
import type { LayerSource, Snapshotter } from '../../lib/sandbox/index.js';
import type { Digest } from '../../lib/digest.js';
import { BwrapSandbox } from '../../runtime/bwrap-sandbox.js';
import { NativeSnapshotter } from '../../runtime/native-snapshotter.js';
import { OverlaySnapshotter } from '../../runtime/overlay-snapshotter.js';
import { tempDirs } from '../support/cli.js';
import { contentHash, randomStack, type GeneratedStack } from '../support/random-layers.js';

const exec = promisify(execFile);

const GROUPS = 4;
const PER_GROUP = 75;
const LAYERS = 5;
const LISTER = '/.tsbuild-list/busybox';

interface Record {
  type: string;
  mode: string;
  uid: string;
  gid: string;
  size: string;
  hash: string;
  link: string;
}

interface BuiltImage {
  name: string;
  layers: LayerSource[];
}

/** Layer i of the image = layer i of every stack, one after the other. */
async function buildImage(store: LayoutStore, name: string, stacks: GeneratedStack[], layerCount: number): Promise<BuiltImage> {
  const layers: LayerSource[] = [];
  const diffIds: Digest[] = [];
  for (let i = 0; i < layerCount; i++) {
    const entries: LayerEntrySource[] = stacks.flatMap((s) => s.layers[i] ?? []);
    const r = await writeLayerFromEntries(entries, store);
    diffIds.push(r.diffId);
    layers.push({ diffId: r.diffId, descriptor: r.descriptor, open: () => store.read(r.descriptor.digest, { size: r.descriptor.size }) });
  }
  const cfg = await store.writeJson({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } });
  const manifest = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, ...cfg.info },
    layers: layers.map((l) => l.descriptor),
  });
  await store.setRef(name, { mediaType: MediaType.OciManifest, ...manifest.info });
  return { name, layers };
}

const TYPES: { [k: string]: string } = {
  directory: 'dir',
  'regular file': 'file',
  'regular empty file': 'file',
  'symbolic link': 'symlink',
  fifo: 'fifo',
  'character special file': 'char',
};

/** The tree as a stage sees it: listed by a static busybox inside the sandbox. */
async function listInSandbox(rootfs: string): Promise<Map<string, Record>> {
  const script = [
    'cd /',
    `P='( -path ./proc -o -path ./dev -o -path ./.tsbuild-list ) -prune -o'`,
    "find . -mindepth 1 $P -exec stat -c '%F|%a|%u|%g|%s|%n' {} + | sed 's/^/S|/'",
    "find . -mindepth 1 $P -type f -exec sha256sum {} + | sed 's/^/H|/'",
    "find . -mindepth 1 $P -type l -exec stat -c '%N' {} + | sed 's/^/L|/'",
  ].join('\n');
  const out: Buffer[] = [];
  let err = '';
  const res = await new BwrapSandbox().run(
    {
      rootfs,
      argv: [LISTER, 'sh', '-c', script],
      env: ['PATH=/nonexistent'],
      cwd: '/',
      network: 'none',
      mounts: [{ source: '/bin/busybox', target: LISTER, readonly: true }],
    },
    {
      onOutput: (c, s) => {
        if (s === 'stdout') out.push(c);
        else err += c.toString('utf8');
      },
    },
  );
  assert.equal(res.exitCode, 0, `listing inside the sandbox failed: ${err}`);
  const map = new Map<string, Record>();
  const hashes = new Map<string, string>();
  const links = new Map<string, string>();
  // Decoded once: a chunk may end inside a multi-byte character.
  for (const line of Buffer.concat(out).toString('utf8').split('\n')) {
    if (line.startsWith('S|')) {
      const [, type, mode, uid, gid, size, ...name] = line.split('|');
      const path = name.join('|').replace(/^\.\//, '');
      map.set(path, { type: TYPES[type!] ?? type!, mode: mode!, uid: uid!, gid: gid!, size: TYPES[type!] === 'file' ? size! : '', hash: '', link: '' });
    } else if (line.startsWith('H|')) {
      const m = /^H\|([0-9a-f]{64}) {2}\.\/(.*)$/.exec(line);
      if (m) hashes.set(m[2]!, m[1]!);
    } else if (line.startsWith('L|')) {
      const m = /^L\|'\.\/(.*?)' -> '(.*)'$/.exec(line);
      if (m) links.set(m[1]!, m[2]!);
    }
  }
  for (const [p, h] of hashes) {
    const r = map.get(p);
    assert.ok(r, `sha256sum listed ${JSON.stringify(p)}, stat did not`);
    r.hash = h;
  }
  for (const [p, l] of links) {
    const r = map.get(p);
    assert.ok(r, `a link target for ${JSON.stringify(p)}, which stat did not list`);
    r.link = l;
  }
  return map;
}

/** The same listing of umoci's root filesystem, from the host. */
async function listTree(root: string): Promise<Map<string, Record>> {
  const map = new Map<string, Record>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of await readdir(rel === '' ? root : join(root, rel))) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, r);
      const st = await lstat(abs);
      const type = st.isDirectory()
        ? 'dir'
        : st.isFile()
          ? 'file'
          : st.isSymbolicLink()
            ? 'symlink'
            : st.isFIFO()
              ? 'fifo'
              : st.isCharacterDevice()
                ? 'char'
                : 'other';
      map.set(r, {
        type,
        mode: (st.mode & 0o7777).toString(8),
        uid: String(st.uid),
        gid: String(st.gid),
        size: type === 'file' ? String(st.size) : '',
        hash: type === 'file' ? contentHash(await readFile(abs)) : '',
        link: type === 'symlink' ? await readlink(abs) : '',
      });
      if (type === 'symlink') map.get(r)!.mode = '777';
      if (type === 'dir') await walk(r);
    }
  };
  await walk('');
  return map;
}

function compare(expected: Map<string, Record>, got: Map<string, Record>, stacks: GeneratedStack[], label: string): string[] {
  const seedOf = (p: string): string => {
    const top = p.split('/')[0]!;
    const s = stacks.find((x) => x.top === top);
    return s ? `seed ${s.seed}` : 'outside any stack';
  };
  const diffs: string[] = [];
  for (const p of new Set([...expected.keys(), ...got.keys()])) {
    const e = expected.get(p);
    const g = got.get(p);
    const je = e ? JSON.stringify(e) : 'absent';
    const jg = g ? JSON.stringify(g) : 'absent';
    if (je !== jg) diffs.push(`${label} ${seedOf(p)}: ${JSON.stringify(p)}\n  umoci:   ${je}\n  tsbuild: ${jg}`);
  }
  return diffs;
}

function seeds(group: number): number[] {
  const only = process.env.LAYER_APPLY_SEEDS;
  if (only) return group === 0 ? only.split(',').map(Number) : [];
  return Array.from({ length: PER_GROUP }, (_, i) => 1000 + group * PER_GROUP + i);
}

describe('stacked layers: what a stage sees equals umoci unpack of the image', () => {
  const temps = tempDirs();
  let work: string;
  let store: LayoutStore;

  before(async () => {
    work = await temps.make('layer-apply');
    store = new LayoutStore(join(work, 'layout'));
    await store.init();
  });
  after(() => temps.cleanup());

  for (let g = 0; g < GROUPS; g++) {
    test(`random stacks, group ${g}: both snapshotters agree with umoci, entry by entry`, async () => {
      const groupSeeds = seeds(g);
      if (groupSeeds.length === 0) return;
      const stacks = groupSeeds.map((seed) => randomStack(seed, `s${seed}`, LAYERS));
      // The whole image, and a prefix of it (its layers are then reused from the cache).
      const images: Array<{ image: BuiltImage; count: number }> = [];
      for (const count of [LAYERS, 3]) images.push({ image: await buildImage(store, `g${g}-${count}`, stacks, count), count });
      const diffs: string[] = [];
      for (const { image } of images) {
        const bundle = join(work, `bundle-${image.name}`);
        await exec('umoci', ['unpack', '--image', `${join(work, 'layout')}:${image.name}`, bundle], { maxBuffer: 64 << 20 });
        const expected = await listTree(join(bundle, 'rootfs'));
        const snapshotters: Snapshotter[] = [new OverlaySnapshotter(join(work, 'snapshots'), store), new NativeSnapshotter(join(work, 'snapshots'), store)];
        for (const snap of snapshotters) {
          const key = `${image.name}-${snap.name}`;
          const prepared = await snap.prepare(key, image.layers);
          try {
            diffs.push(...compare(expected, await listInSandbox(prepared.rootfs), stacks, `${image.name} ${snap.name}`));
          } finally {
            await snap.remove(key);
          }
        }
      }
      assert.deepEqual(diffs.slice(0, 30), [], `${diffs.length} differences (rerun one stack with LAYER_APPLY_SEEDS=<seed>)`);
    });
  }
});
