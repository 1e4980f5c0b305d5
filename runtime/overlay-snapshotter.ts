// Snapshotter on overlayfs: a stage runs on lower=its layers' dirs, upper=fresh dir, and the upper
// dir is the diff (cost of a stage ~ what it changed, not the size of the image). What the lowers
// show is what applying the layers in order gives: a layer is unpacked once on its own
// (snapshots/layers/<diffId>/fs, whiteouts as 0/0 devices) and that dir is used wherever stacking
// it equals applying it (overlay-fit.ts); otherwise — entries below a parent's symlink (usrmerged
// /bin), implicit parents, hardlinks into parents — it is applied onto its parents' overlay once per
// chain (snapshots/chains/<chainId>/fs), as containerd's overlay snapshotter always does.
// Rootless (inside tsbuild's user namespace) the mount uses `userxattr`: opaque markers and xattr
// whiteouts live in user.overlay.*, and layers are unpacked with the namespace's ids.
// A committed stage's upper dir becomes its layer's dir (the walk that writes the layer also makes
// it what unpacking the layer would), so the next stage does not unpack what was just packed.
import { prunePlaceholders } from './prune-placeholders.js';
import { buildOnce } from './build-once.js';
import { packingError } from './packing-error.js';
import { makeOwnedDir, removeOwnedDir } from '../lib/internal/owned-dir.js';
import { DEFAULT_MAX_LAYER_BYTES, layerTooLarge } from './layer-size-limit.js';
import { chmod, lstat, mkdir, readFile, rename, rm, stat, symlink, readlink, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { digestHex } from '../lib/digest.js';
import { TsbuildError } from '../lib/errors.js';
import type { LayoutStore } from '../lib/content/index.js';
import { fsx, unpackLayer, writeLayerFromUpperDir, type UnpackOptions, type UnpackResult } from '../lib/layer/index.js';
import { withFileLock } from '../lib/internal/file-lock.js';
import type { Digest } from '../lib/digest.js';
import { chainIds } from './chain-ids.js';
import { mountOverlay, unmountOverlay } from './overlay-mount.js';
import { standaloneFits, type LayerFacts } from './overlay-fit.js';
import type { CommitOptions, CommittedLayer, LayerSource, PreparedSnapshot, Snapshotter } from '../lib/sandbox/index.js';
import { layerCompression } from '../lib/oci/index.js';

interface Active {
  dir: string;
  merged: string;
  upper: string;
  mounted: boolean;
  /** diffIds of the layers below (the chain the upper dir was made on). */
  parents: Digest[];
}

export interface SnapshotterOptions {
  /** Running in a user namespace (not real root): userxattr mounts, rootless unpack. */
  rootless?: boolean;
  /** Give unpacked files their owners (false when only one id is mapped). Default true. */
  chown?: boolean;
  /**
   * Names the id mapping layers are unpacked with; unpacked layers are cached per flavour, so a home
   * used as root and rootless (or with another subordinate range) never mixes owners or xattrs.
   * Keep it short (it is repeated in the mount options for every lower layer): "u100000", "s".
   */
  flavor?: string;
  onWarning?: (message: string) => void;
  /** Uncompressed size a layer may reach when unpacked (default DEFAULT_MAX_LAYER_BYTES). */
  maxLayerBytes?: number;
  /** Owner locks of the home (default <root>/../locks/owners): leftovers of dead builds are found by them. */
  ownerLocks?: string;
}

/** Where owner locks of the home live, given the snapshots root. */
export function ownerLocksOf(root: string, options: SnapshotterOptions): string {
  return options.ownerLocks ?? join(root, '..', 'locks', 'owners');
}

export class OverlaySnapshotter implements Snapshotter {
  readonly name = 'overlayfs';
  private readonly active = new Map<string, Active>();

  constructor(
    /** $TSBUILD_HOME/snapshots */
    private readonly root: string,
    private readonly store: LayoutStore,
    private readonly options: SnapshotterOptions = {},
  ) {}

  private get maxLayerBytes(): number {
    return this.options.maxLayerBytes ?? DEFAULT_MAX_LAYER_BYTES;
  }

  private flavored(kind: string): string {
    return join(this.root, this.options.flavor ? `${kind}-${this.options.flavor}` : kind);
  }

  private layerDir(diffIdHex: string): string {
    return join(this.flavored('layers'), diffIdHex);
  }

  private unpackOptions(layer: LayerSource, mode: 'overlay' | 'apply', signal: AbortSignal | undefined): UnpackOptions {
    return {
      mode,
      rootless: this.options.rootless ?? false,
      chown: this.options.chown ?? true,
      ...(this.options.onWarning ? { onWarning: this.options.onWarning } : {}),
      compression: layerCompression(layer.descriptor.mediaType),
      expected: { diffId: layer.diffId, digest: layer.descriptor.digest, size: layer.descriptor.size },
      limits: { maxTotalBytes: this.maxLayerBytes },
      signal,
    };
  }

  private unpack(layer: LayerSource, dest: string, mode: 'overlay' | 'apply', signal: AbortSignal | undefined): Promise<UnpackResult> {
    return unpackLayer(layer.open(), dest, this.unpackOptions(layer, mode, signal)).catch((err: unknown) => {
      throw layerTooLarge(err, layer.descriptor.digest, this.maxLayerBytes);
    });
  }

  /** Unpack a layer on its own, once (keyed by diffId), with what the unpack found out about it. */
  private async ensureLayer(layer: LayerSource, signal?: AbortSignal): Promise<{ dir: string; facts: LayerFacts | undefined }> {
    const hex = digestHex(layer.diffId);
    const done = join(this.layerDir(hex), 'fs');
    await buildOnce(
      {
        done,
        lockFile: join(this.root, 'locks', `${hex}.lock`),
        tmpRoot: join(this.root, 'tmp'),
        ownerLocks: ownerLocksOf(this.root, this.options),
        beside: ['facts.json'],
        signal,
      },
      async (fs) => {
        const r = await this.unpack(layer, fs, 'overlay', signal);
        const facts: LayerFacts = { v: 1, implicitDirs: r.implicitDirs, dependsOnParents: r.dependsOnParents };
        await writeFile(join(fs, '..', 'facts.json'), JSON.stringify(facts));
      },
    );
    // Dirs unpacked before facts were recorded have none.
    const facts = await readFile(join(this.layerDir(hex), 'facts.json'), 'utf8').then(
      (t) => JSON.parse(t) as LayerFacts,
      () => undefined,
    );
    return { dir: done, facts };
  }

  /**
   * Layer n applied onto the overlay of layers 0..n-1 (containerd's way): keyed by the chain id, as
   * what it holds depends on the parents. The upper dir of that mount is the layer's dir.
   */
  private async ensureApplied(chainHex: string, layer: LayerSource, lowers: string[], signal?: AbortSignal): Promise<string> {
    const done = join(this.flavored('chains'), chainHex, 'fs');
    await buildOnce(
      {
        done,
        lockFile: join(this.root, 'locks', `chain-${chainHex}.lock`),
        tmpRoot: join(this.root, 'tmp'),
        ownerLocks: ownerLocksOf(this.root, this.options),
        signal,
      },
      async (fs) => {
        if (lowers.length === 0) {
          await this.unpack(layer, fs, 'apply', signal);
          return;
        }
        const tmp = join(fs, '..');
        await mkdir(join(tmp, 'work'));
        await mkdir(join(tmp, 'merged'));
        await mountOverlay(
          this.root,
          { lowers, upper: posix.relative(this.root, fs), work: posix.relative(this.root, join(tmp, 'work')), merged: join(tmp, 'merged') },
          !!this.options.rootless,
        );
        try {
          await this.unpack(layer, join(tmp, 'merged'), 'apply', signal);
        } finally {
          await unmountOverlay(join(tmp, 'merged'));
        }
      },
    );
    return done;
  }

  /**
   * The lowerdirs (short names, bottom first) showing parents[0..n] exactly as applying them in order
   * would: each layer's own dir where that is the same (keyed by diffId, shared by every chain it
   * fits), else the layer applied onto its parents (keyed by chain id).
   */
  async ensureChain(parents: LayerSource[], signal?: AbortSignal): Promise<string[]> {
    const ids = chainIds(parents.map((p) => p.diffId));
    const dirs: string[] = [];
    const names: string[] = [];
    for (let i = 0; i < parents.length; i++) {
      const layer = parents[i]!;
      const chainHex = digestHex(ids[i]!);
      const applied = join(this.flavored('chains'), chainHex, 'fs');
      let dir: string | undefined;
      if (await exists(applied)) dir = applied;
      else {
        const own = await this.ensureLayer(layer, signal);
        const marker = join(this.flavored('fits'), chainHex);
        // A bottom layer unpacked before facts were recorded was unpacked exactly as applying it.
        const fits = own.facts === undefined ? i === 0 : (await exists(marker)) || standaloneFits(own.dir, own.facts, [...dirs].reverse());
        if (fits) {
          if (i > 0 && !(await exists(marker))) await writeMarker(marker);
          dir = own.dir;
        } else {
          dir = await this.ensureApplied(chainHex, layer, names, signal);
        }
      }
      dirs.push(dir);
      names.push(await this.shortLink(dir));
    }
    return names;
  }

  /** Short relative names keep the overlay mount options under the kernel's page-size limit. */
  private async shortLink(dir: string): Promise<string> {
    const hex = posix.basename(posix.dirname(dir)).slice(0, 16);
    const kind = posix.basename(posix.dirname(posix.dirname(dir))).startsWith('chains') ? 'c' : '';
    const name = this.options.flavor ? `${kind}${this.options.flavor}-${hex}` : `${kind}${hex}`;
    const link = join(this.root, 'l', name);
    const target = posix.relative(join(this.root, 'l'), dir);
    try {
      if ((await readlink(link)) === target) return `l/${name}`;
    } catch {
      /* create below */
    }
    await mkdir(join(this.root, 'l'), { recursive: true });
    const tmp = `${link}.${randomBytes(4).toString('hex')}`;
    await symlink(target, tmp);
    await rename(tmp, link);
    return `l/${name}`;
  }

  async prepare(key: string, parents: LayerSource[], options: { signal?: AbortSignal | undefined } = {}): Promise<PreparedSnapshot> {
    const lowers = await this.ensureChain(parents, options.signal);
    // Owned: if this process is killed, the next build or `stages gc` unmounts and removes it.
    const dir = await makeOwnedDir(join(this.root, 'active'), `${safeKey(key)}-`, ownerLocksOf(this.root, this.options));
    const a: Active = { dir, merged: join(dir, 'merged'), upper: join(dir, 'upper'), mounted: false, parents: parents.map((p) => p.diffId) };
    await mkdir(join(dir, 'work'), { recursive: true });
    await mkdir(a.upper, { recursive: true });
    await mkdir(a.merged, { recursive: true });
    // The root directory shows the upper dir's mode: 0755 whatever the umask.
    await chmod(a.upper, 0o755);
    if (lowers.length === 0) {
      await mkdir(join(dir, 'empty'), { recursive: true });
      await chmod(join(dir, 'empty'), 0o755);
      lowers.push(posix.relative(this.root, join(dir, 'empty')));
    }
    const rel = posix.relative(this.root, dir);
    try {
      await mountOverlay(this.root, { lowers, upper: `${rel}/upper`, work: `${rel}/work`, merged: a.merged }, !!this.options.rootless);
    } catch (err) {
      await removeOwnedDir(dir);
      throw err;
    }
    a.mounted = true;
    this.active.set(key, a);
    return { key, rootfs: a.merged, placeholders: new Set() };
  }

  async commit(key: string, options: CommitOptions): Promise<CommittedLayer> {
    const a = this.active.get(key);
    if (!a) throw new TsbuildError('TSB_INTERNAL', `no active snapshot ${key}`);
    await this.unmount(a);
    // Deepest first; rmdir fails (and the directory stays) when the stage wrote into it.
    await prunePlaceholders(a.upper, options.pruneIfEmpty ?? []);
    // Unpacked layers are chowned unless only one id is mapped: only then can the upper dir stand in for one.
    const adopt = this.options.chown !== false;
    const res = await writeLayerFromUpperDir(a.upper, this.store, {
      skip: options.skip,
      compression: options.compression,
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
      signal: options.signal,
      ...(adopt ? { inPlace: this.options.rootless ? ('user' as const) : ('trusted' as const) } : {}),
    }).catch((err: unknown) => {
      throw packingError(err, key, a.upper);
    });
    // Left out at the top only: removing them changes the mtime of the root, which no layer records.
    if (adopt && res.tree.matchesLayer && res.tree.skippedPaths.every((p) => !p.includes('/'))) {
      await this.adoptUpper(a, res.diffId, res.tree.skippedPaths, options.signal).catch((err: unknown) => {
        // Only a shortcut: without it the next stage unpacks the stored layer as usual.
        if (options.signal?.aborted) throw err;
      });
    }
    return { descriptor: res.descriptor, diffId: res.diffId, empty: res.empty };
  }

  /**
   * Keep the committed upper dir as the layer's dir (what ensureLayer would unpack from the blob),
   * and mark it as fitting the chain it was made on: stacked on those parents it shows what the
   * stage left, which is what applying its layer onto them shows.
   */
  private async adoptUpper(a: Active, diffId: Digest, skipped: string[], signal: AbortSignal | undefined): Promise<void> {
    const hex = digestHex(diffId);
    const done = join(this.layerDir(hex), 'fs');
    await withFileLock(
      join(this.root, 'locks', `${hex}.lock`),
      async () => {
        if (await exists(done)) return;
        for (const p of skipped) await rm(join(a.upper, p), { recursive: true, force: true });
        // The root is no entry of the layer; an unpacked one carries no overlay xattrs (uuid, impure).
        const fx = fsx();
        for (const x of fx.llistxattr(a.upper)) if (/^(trusted|user)\.overlay\./.test(x)) fx.lremovexattr(a.upper, x);
        await mkdir(this.layerDir(hex), { recursive: true });
        const facts: LayerFacts = { v: 1, implicitDirs: [], dependsOnParents: 0 };
        const tmp = join(this.layerDir(hex), `facts.json.${randomBytes(4).toString('hex')}`);
        await writeFile(tmp, JSON.stringify(facts));
        await rename(tmp, join(this.layerDir(hex), 'facts.json'));
        await rename(a.upper, done);
      },
      signal ? { signal } : {},
    );
    if (a.parents.length > 0) {
      const chain = chainIds([...a.parents, diffId]);
      const marker = join(this.flavored('fits'), digestHex(chain[chain.length - 1]!));
      if (!(await exists(marker))) await writeMarker(marker);
    }
  }

  private async unmount(a: Active): Promise<void> {
    if (!a.mounted) return;
    await unmountOverlay(a.merged);
    a.mounted = false;
  }

  async remove(key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    await this.unmount(a);
    await removeOwnedDir(a.dir);
  }

  /** Unmount everything still active (process exit, abort). */
  async removeAll(): Promise<void> {
    for (const key of [...this.active.keys()]) await this.remove(key);
  }
}

async function exists(p: string): Promise<boolean> {
  return lstat(p).then(
    () => true,
    () => false,
  );
}

async function writeMarker(path: string): Promise<void> {
  await mkdir(posix.dirname(path), { recursive: true });
  const tmp = `${path}.${randomBytes(4).toString('hex')}`;
  await writeFile(tmp, '');
  await rename(tmp, path);
}

function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]/g, '_').slice(0, 60);
}

export async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}
