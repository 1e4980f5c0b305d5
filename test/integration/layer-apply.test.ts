// Differential test of what a stage sees: seeded random layer stacks, built as OCI images, listed
// from inside the bwrap sandbox on both snapshotters and compared entry by entry with `umoci unpack`
// of the same image (an independent applier). Many stacks share one image (each under its own top
// directory), so a few hundred stacks cost a handful of sandbox runs. A difference names its seed;
// LAYER_APPLY_SEEDS=N,M reruns only those stacks.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import type { LayerSource, Snapshotter } from '../../lib/sandbox/index.js';
import { NativeSnapshotter } from '../../runtime/native-snapshotter.js';
import { OverlaySnapshotter } from '../../runtime/overlay-snapshotter.js';
import { tempDirs } from '../support/cli.js';
import { storeLayeredImage } from '../support/layered-image.js';
import { randomStack, type GeneratedStack } from '../support/random-layers.js';
import { listInSandbox, listTree, mtimeSeconds, type ListedEntry } from '../support/tree-listing.js';

const exec = promisify(execFile);

const GROUPS = 4;
const PER_GROUP = 75;
const LAYERS = 5;

interface BuiltImage {
  name: string;
  layers: LayerSource[];
}

/** Layer i of the image = layer i of every stack, one after the other. */
async function buildImage(store: LayoutStore, name: string, stacks: GeneratedStack[], layerCount: number): Promise<BuiltImage> {
  const perLayer = Array.from({ length: layerCount }, (_, i) => stacks.flatMap((s) => s.layers[i] ?? []));
  const layers = await storeLayeredImage(store, name, perLayer);
  return { name, layers };
}

/** What the comparison covered: mtimes compared exactly or left at umoci's unpack time, xattrs, root entries. */
interface Coverage {
  exact: number;
  unpackTime: number;
  fileXattrs: number;
  dirXattrs: number;
  /** Images whose "./" entries made umoci's root differ from the runtimes' (see runtimeRoot). */
  rootEntries: number;
}

/**
 * The root directory as containerd (and Docker, Podman) leave it whatever "./" entries the layers
 * have: 0755, root's, no xattrs, the snapshot's own mtime. umoci gives it the last such entry's
 * metadata instead; tsbuild follows the runtimes, so a stage sees the root the container will.
 */
function runtimeRoot(umoci: ListedEntry): ListedEntry {
  return { ...umoci, mode: '755', uid: '0', gid: '0', xattrs: '', mtime: '(snapshot time)' };
}

/**
 * Entry by entry. An mtime umoci gives from the layers is compared to the nanosecond; one it leaves
 * at the time of its unpack (a directory it made as a parent, or whose mtime a child's mkdir or a
 * whiteout walk changed without restoring it) depends on when it ran and is not compared.
 */
function compare(
  expected: Map<string, ListedEntry>,
  got: Map<string, ListedEntry>,
  stacks: GeneratedStack[],
  label: string,
  unpackStart: number,
  counts: Coverage,
): string[] {
  const seedOf = (p: string): string => {
    const top = p.split('/')[0]!;
    const s = stacks.find((x) => x.top === top);
    return s ? `seed ${s.seed}` : 'outside any stack';
  };
  const diffs: string[] = [];
  for (const p of new Set([...expected.keys(), ...got.keys()])) {
    let e = expected.get(p);
    let g = got.get(p);
    if (p === '.' && e && g) {
      if (JSON.stringify({ ...e, mtime: '' }) !== JSON.stringify({ ...runtimeRoot(e), mtime: '' })) counts.rootEntries++;
      e = runtimeRoot(e);
      g = { ...g, mtime: '(snapshot time)' };
    } else if (e && g) {
      if (mtimeSeconds(e.mtime) >= unpackStart) {
        counts.unpackTime++;
        e = { ...e, mtime: '(unpack time)' };
        g = { ...g, mtime: '(unpack time)' };
      } else counts.exact++;
      if (e.xattrs !== '' && e.type === 'file') counts.fileXattrs++;
      if (e.xattrs !== '' && e.type === 'dir') counts.dirXattrs++;
    }
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
    test(`random stacks, group ${g}: both snapshotters agree with umoci, entry by entry`, async (t) => {
      const groupSeeds = seeds(g);
      if (groupSeeds.length === 0) return;
      const stacks = groupSeeds.map((seed) => randomStack(seed, `s${seed}`, LAYERS));
      // The whole image, and a prefix of it (its layers are then reused from the cache).
      const images: Array<{ image: BuiltImage; count: number }> = [];
      for (const count of [LAYERS, 3]) images.push({ image: await buildImage(store, `g${g}-${count}`, stacks, count), count });
      const diffs: string[] = [];
      const counts: Coverage = { exact: 0, unpackTime: 0, fileXattrs: 0, dirXattrs: 0, rootEntries: 0 };
      for (const { image } of images) {
        const bundle = join(work, `bundle-${image.name}`);
        // Whole seconds: a time umoci set from the clock is not before this.
        const unpackStart = Math.floor(Date.now() / 1000);
        await exec('umoci', ['unpack', '--image', `${join(work, 'layout')}:${image.name}`, bundle], { maxBuffer: 64 << 20 });
        const expected = await listTree(join(bundle, 'rootfs'));
        const snapshotters: Snapshotter[] = [new OverlaySnapshotter(join(work, 'snapshots'), store), new NativeSnapshotter(join(work, 'snapshots'), store)];
        for (const snap of snapshotters) {
          const key = `${image.name}-${snap.name}`;
          const prepared = await snap.prepare(key, image.layers);
          try {
            diffs.push(...compare(expected, await listInSandbox(prepared.rootfs), stacks, `${image.name} ${snap.name}`, unpackStart, counts));
          } finally {
            await snap.remove(key);
          }
        }
      }
      assert.deepEqual(diffs.slice(0, 30), [], `${diffs.length} differences (rerun one stack with LAYER_APPLY_SEEDS=<seed>)`);
      // The layers describe most times: a comparison that skipped them all would prove nothing.
      t.diagnostic(
        `mtimes compared exactly: ${counts.exact}, left at umoci's unpack time: ${counts.unpackTime}; entries with xattrs: ${counts.fileXattrs} files, ${counts.dirXattrs} dirs; roots umoci took from "./": ${counts.rootEntries}`,
      );
      assert.ok(counts.exact > 4 * counts.unpackTime, `only ${counts.exact} mtimes compared exactly, ${counts.unpackTime} left at umoci's unpack time`);
      if (!process.env.LAYER_APPLY_SEEDS) assert.ok(counts.fileXattrs > 0 && counts.dirXattrs > 0, 'no xattrs were compared');
    });
  }
});
