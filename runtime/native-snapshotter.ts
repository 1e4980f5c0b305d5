// Snapshotter for machines without overlayfs: every chain of layers is flattened once into
// snapshots/native/<chainId>/fs; a stage runs on a full copy of it, and commit walks the copy against
// the parent (tree-diff.ts). Slower and bigger than overlayfs (the copy and the walk grow with the
// image), but needs nothing from the kernel.
import { prunePlaceholders } from './prune-placeholders.js';
import { buildOnce } from './build-once.js';
import { packingError } from './packing-error.js';
import { DEFAULT_MAX_LAYER_BYTES, layerTooLarge } from './layer-size-limit.js';
import { execFile } from 'node:child_process';
import { createReadStream, lstatSync, readdirSync, writeFileSync, type Dirent } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Digest } from '../lib/digest.js';
import { digestHex } from '../lib/digest.js';
import { TsbuildError } from '../lib/errors.js';
import type { LayoutStore } from '../lib/content/index.js';
import { unpackLayer, writeLayerFromEntries, type LayerEntrySource } from '../lib/layer/index.js';
import { layerCompression } from '../lib/oci/index.js';
import type { CommitOptions, CommittedLayer, LayerSource, PreparedSnapshot, Snapshotter } from '../lib/sandbox/index.js';
import { ownerLocksOf, type SnapshotterOptions } from './overlay-snapshotter.js';
import { makeOwnedDir, removeOwnedDir } from '../lib/internal/owned-dir.js';
import { diffTrees } from './tree-diff.js';
import { chainIds } from './chain-ids.js';

export { chainIds };

const run = promisify(execFile);

interface Active {
  dir: string;
  rootfs: string;
  parent: string | undefined;
  dirInodes: Map<string, bigint>;
  copiedAtNs: bigint;
}

export class NativeSnapshotter implements Snapshotter {
  readonly name = 'native';
  private readonly active = new Map<string, Active>();

  constructor(
    /** $TSBUILD_HOME/snapshots */
    private readonly root: string,
    private readonly store: LayoutStore,
    private readonly options: SnapshotterOptions = {},
  ) {}

  private chainDir(chainId: Digest): string {
    return join(this.root, this.options.flavor ? `native-${this.options.flavor}` : 'native', digestHex(chainId));
  }

  /** The flattened root filesystem of parents[0..n], made from the one of parents[0..n-1] plus layer n. */
  async ensureChain(parents: LayerSource[], signal?: AbortSignal): Promise<string | undefined> {
    const ids = chainIds(parents.map((p) => p.diffId));
    const limit = this.options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
    let prev: string | undefined;
    for (let i = 0; i < parents.length; i++) {
      const dir = this.chainDir(ids[i]!);
      const done = join(dir, 'fs');
      const layer = parents[i]!;
      const base = prev;
      await buildOnce(
        {
          done,
          lockFile: join(this.root, 'locks', `native-${digestHex(ids[i]!)}.lock`),
          tmpRoot: join(this.root, 'tmp'),
          ownerLocks: ownerLocksOf(this.root, this.options),
          signal,
        },
        async (fs) => {
          if (base) {
            await rm(fs, { recursive: true });
            await copyTree(base, fs);
          }
          await unpackLayer(layer.open(), fs, {
            mode: 'apply',
            compression: layerCompression(layer.descriptor.mediaType),
            expected: { diffId: layer.diffId, digest: layer.descriptor.digest, size: layer.descriptor.size },
            rootless: this.options.rootless ?? false,
            chown: this.options.chown ?? true,
            limits: { maxTotalBytes: limit },
            ...(this.options.onWarning ? { onWarning: this.options.onWarning } : {}),
            signal,
          }).catch((err: unknown) => {
            throw layerTooLarge(err, layer.descriptor.digest, limit);
          });
        },
      );
      prev = done;
    }
    return prev;
  }

  async prepare(key: string, parents: LayerSource[], options: { signal?: AbortSignal | undefined } = {}): Promise<PreparedSnapshot> {
    const parent = await this.ensureChain(parents, options.signal);
    const dir = await makeOwnedDir(join(this.root, 'active'), `${safeKey(key)}-`, ownerLocksOf(this.root, this.options));
    const rootfs = join(dir, 'rootfs');
    try {
      if (parent) await copyTree(parent, rootfs);
      else await mkdir(rootfs);
      const dirInodes = recordDirInodes(rootfs);
      const copiedAtNs = settleClock(join(dir, 'copied'));
      this.active.set(key, { dir, rootfs, parent, dirInodes, copiedAtNs });
    } catch (err) {
      await removeOwnedDir(dir);
      throw err;
    }
    return { key, rootfs, placeholders: new Set() };
  }

  async commit(key: string, options: CommitOptions): Promise<CommittedLayer> {
    const a = this.active.get(key);
    if (!a) throw new TsbuildError('TSB_INTERNAL', `no active snapshot ${key}`);
    await prunePlaceholders(a.rootfs, options.pruneIfEmpty ?? []);
    const items = diffTrees({
      parent: a.parent,
      work: a.rootfs,
      skip: new Set(options.skip.map((p) => p.replace(/^\/+|\/+$/g, '')).filter((p) => p !== '')),
      dirInodes: a.dirInodes,
      copiedAtNs: a.copiedAtNs,
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
    });
    const sources: LayerEntrySource[] = items.map((i) => (i.source ? { entry: i.entry, content: fileContent(i.source) } : { entry: i.entry }));
    const res = await writeLayerFromEntries(sources, this.store, {
      compression: options.compression,
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
      signal: options.signal,
    }).catch((err: unknown) => {
      throw packingError(err, key, a.rootfs);
    });
    return { descriptor: res.descriptor, diffId: res.diffId, empty: res.empty };
  }

  async remove(key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    await removeOwnedDir(a.dir);
  }

  async removeAll(): Promise<void> {
    for (const key of [...this.active.keys()]) await this.remove(key);
  }
}

function fileContent(path: string): () => AsyncIterable<Uint8Array> {
  return () => createReadStream(path, { highWaterMark: 1 << 20 });
}

/** cp -a keeps owners, modes, times (ns), hardlinks, symlinks, devices and xattrs. */
async function copyTree(from: string, to: string): Promise<void> {
  try {
    await run('cp', ['-a', '--reflink=auto', '--', from, to], { maxBuffer: 1 << 20 });
  } catch (err) {
    throw new TsbuildError('TSB_INTERNAL', `cannot copy ${from}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

function recordDirInodes(rootfs: string): Map<string, bigint> {
  const map = new Map<string, bigint>();
  const stack: string[] = [''];
  while (stack.length) {
    const rel = stack.pop()!;
    let ents: Dirent[];
    try {
      ents = readdirSync(rel === '' ? rootfs : join(rootfs, rel), { withFileTypes: true });
    } catch {
      continue;
    }
    for (const d of ents) {
      if (!d.isDirectory()) continue;
      const crel = rel === '' ? d.name : `${rel}/${d.name}`;
      map.set(crel, lstatSync(join(rootfs, crel), { bigint: true }).ino);
      stack.push(crel);
    }
  }
  return map;
}

/**
 * A ctime every change made from now on is later than: the kernel stamps inodes with a coarse clock,
 * so wait (a few ms at most) until a fresh inode gets a later stamp than the marker.
 */
function settleClock(marker: string): bigint {
  writeFileSync(marker, '');
  const t = lstatSync(marker, { bigint: true }).ctimeNs;
  for (let i = 0; i < 10_000; i++) {
    writeFileSync(marker, String(i));
    if (lstatSync(marker, { bigint: true }).ctimeNs > t) break;
  }
  return t;
}

function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
}
