// Hostile entries spread over several layers of a base image (reliability catalog A1, A3, A5 across
// layers): a lower layer plants symlinks to a host directory (absolute, and climbing out with ../),
// upper layers write, hardlink and white out through them. Both snapshotters must resolve every
// path inside the root — the overlay one also when it applies a layer onto its parents' mount
// because the layer alone does not fit — leave the host directory untouched, and show what
// `umoci unpack` of the same image shows.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, lstat, readdir, readFile, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import type { LayerEntrySource, TarEntry } from '../../lib/layer/index.js';
import type { LayerSource, Snapshotter } from '../../lib/sandbox/index.js';
import { NativeSnapshotter } from '../../runtime/native-snapshotter.js';
import { OverlaySnapshotter } from '../../runtime/overlay-snapshotter.js';
import { tempDirs } from '../support/cli.js';
import { storeLayeredImage } from '../support/layered-image.js';
import { listTree, type ListedEntry } from '../support/tree-listing.js';

const exec = promisify(execFile);

const meta = { mode: 0o644, uid: 0, gid: 0, size: 0, mtimeSec: 1_600_000_000, mtimeNsec: 0 };
const dir = (path: string): LayerEntrySource => ({ entry: { ...meta, mode: 0o755, path, type: 'dir' } });
const file = (path: string, content: string): LayerEntrySource => ({
  entry: { ...meta, path, type: 'file', size: Buffer.byteLength(content) },
  content: Buffer.from(content),
});
const link = (path: string, type: 'symlink' | 'link', linkname: string): LayerEntrySource => ({ entry: { ...meta, path, type, linkname } as TarEntry });
const whiteout = (path: string): LayerEntrySource => ({ entry: { ...meta, mode: 0, path, type: 'file' } });

describe('hostile entries across the layers of one image', () => {
  const temps = tempDirs();
  let work: string;
  let victim: string;
  let store: LayoutStore;
  let layers: LayerSource[];

  before(async () => {
    work = await temps.make('hostile-stack');
    victim = join(work, 'victim');
    await mkdir(victim);
    await writeFile(join(victim, 'passwd'), 'victim');
    await chmod(join(victim, 'passwd'), 0o400);
    store = new LayoutStore(join(work, 'layout'));
    await store.init();
    const climbing = `${'../'.repeat(12)}${victim.slice(1)}`;
    const entries: LayerEntrySource[][] = [
      [
        dir('etc'),
        file('etc/group', 'group'),
        file('etc/passwd', 'inner'),
        link('esc', 'symlink', victim),
        link('localetc', 'symlink', '/etc'),
        link('up', 'symlink', climbing),
      ],
      // Through the lower layer's links only: alone, this layer would put these under real dirs.
      [file('esc/pwned', 'l2'), link('hl', 'link', 'localetc/group'), file('up/pwned2', 'l2'), whiteout('localetc/.wh.passwd')],
      // Whiteouts through a link to the host directory, of the links, and a link replaced by a file.
      [whiteout('esc/.wh.passwd'), whiteout('esc/.wh.pwned'), whiteout('.wh.up'), file('localetc', 'now a file')],
    ];
    layers = await storeLayeredImage(store, 'hostile', entries);
  });
  after(() => temps.cleanup());

  async function victimUntouched(): Promise<void> {
    assert.deepEqual(await readdir(victim), ['passwd']);
    assert.equal(await readFile(join(victim, 'passwd'), 'utf8'), 'victim');
    const st = await lstat(join(victim, 'passwd'));
    assert.equal(st.mode & 0o7777, 0o400);
    assert.equal(st.nlink, 1);
  }

  /** Entries apart from mtimes of directories (umoci leaves some at its unpack time). */
  function comparable(m: Map<string, ListedEntry>): string[] {
    return [...m.entries()]
      .filter(([p]) => p !== '.')
      .map(([p, e]) => `${p} ${JSON.stringify({ ...e, mtime: e.type === 'dir' ? '' : e.mtime })}`)
      .sort();
  }

  test('both snapshotters keep every path in the root and agree with umoci', async () => {
    const bundle = join(work, 'bundle');
    await exec('umoci', ['unpack', '--image', `${join(work, 'layout')}:hostile`, bundle]);
    await victimUntouched();
    const expected = comparable(await listTree(join(bundle, 'rootfs')));
    // What umoci made of it, spelled out: the host directory's path exists inside the root only.
    // (esc/pwned was whited out through the absolute link; up/pwned2 came through the climbing one.)
    const inRoot = join(bundle, 'rootfs', victim);
    assert.deepEqual(await readdir(inRoot), ['pwned2']);
    assert.equal(await readFile(join(bundle, 'rootfs', 'up'), 'utf8').catch(() => 'absent'), 'absent');
    assert.equal(await readFile(join(bundle, 'rootfs', 'localetc'), 'utf8'), 'now a file');
    assert.equal(await readFile(join(bundle, 'rootfs', 'hl'), 'utf8'), 'group');
    assert.deepEqual((await readdir(join(bundle, 'rootfs', 'etc'))).sort(), ['group']);

    const snapshotters: Snapshotter[] = [new OverlaySnapshotter(join(work, 'snapshots'), store), new NativeSnapshotter(join(work, 'snapshots'), store)];
    for (const snap of snapshotters) {
      const prepared = await snap.prepare(`hostile-${snap.name}`, layers);
      try {
        assert.deepEqual(comparable(await listTree(prepared.rootfs)), expected, snap.name);
      } finally {
        await snap.remove(`hostile-${snap.name}`);
      }
      await victimUntouched();
    }
    // The overlay snapshotter did not stack layers 2 and 3 alone (they only make sense through
    // layer 1's links): it applied them onto their parents' mount, the path under test here.
    assert.equal((await readdir(join(work, 'snapshots', 'chains'))).length, 2);
  });
});
