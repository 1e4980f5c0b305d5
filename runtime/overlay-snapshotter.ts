// Snapshotter on overlayfs: every layer is unpacked once into snapshots/<diffId>/fs (as an overlay
// lower dir, whiteouts as 0/0 devices); a stage runs on lower=parents, upper=fresh dir, and the
// upper dir is the diff. Cost of a stage ~ what it changed, not the size of the image.
// Rootless (inside tsbuild's user namespace) the mount uses `userxattr`: opaque markers and xattr
// whiteouts live in user.overlay.*, and layers are unpacked with the namespace's ids.
import { prunePlaceholders } from './prune-placeholders.js';
import { buildOnce } from './build-once.js';
import { packingError } from './packing-error.js';
import { DEFAULT_MAX_LAYER_BYTES, layerTooLarge } from './layer-size-limit.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, rename, rm, stat, symlink, readlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { join, posix } from 'node:path';
import { digestHex } from '../lib/digest.js';
import { TsbuildError } from '../lib/errors.js';
import type { LayoutStore } from '../lib/content/index.js';
import { unpackLayer, writeLayerFromUpperDir } from '../lib/layer/index.js';
import type { CommitOptions, CommittedLayer, LayerSource, PreparedSnapshot, Snapshotter } from '../lib/sandbox/index.js';
import { layerCompression } from '../lib/oci/index.js';

const run = promisify(execFile);

interface Active {
  dir: string;
  merged: string;
  upper: string;
  mounted: boolean;
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

  private layerDir(diffIdHex: string): string {
    return join(this.root, this.options.flavor ? `layers-${this.options.flavor}` : 'layers', diffIdHex);
  }

  /** Unpack a layer once (under a per-layer lock; written to a temp dir, then renamed). */
  async ensureLayer(layer: LayerSource, signal?: AbortSignal): Promise<string> {
    const hex = digestHex(layer.diffId);
    const dir = this.layerDir(hex);
    const done = join(dir, 'fs');
    await buildOnce({ done, lockFile: join(this.root, 'locks', `${hex}.lock`), tmpRoot: join(this.root, 'tmp'), ...(signal ? { signal } : {}) }, (fs) =>
      unpackLayer(layer.open(), fs, {
        mode: 'overlay',
        rootless: this.options.rootless ?? false,
        chown: this.options.chown ?? true,
        ...(this.options.onWarning ? { onWarning: this.options.onWarning } : {}),
        compression: layerCompression(layer.descriptor.mediaType),
        expected: { diffId: layer.diffId, digest: layer.descriptor.digest, size: layer.descriptor.size },
        limits: { maxTotalBytes: this.maxLayerBytes },
        ...(signal ? { signal } : {}),
      }).then(
        () => undefined,
        (err: unknown) => {
          throw layerTooLarge(err, layer.descriptor.digest, this.maxLayerBytes);
        },
      ),
    );
    return this.shortLink(hex);
  }

  /** Short relative names keep the overlay mount options under the kernel's page-size limit. */
  private async shortLink(hex: string): Promise<string> {
    const name = this.options.flavor ? `${this.options.flavor}-${hex.slice(0, 16)}` : hex.slice(0, 16);
    const link = join(this.root, 'l', name);
    const target = posix.relative(join(this.root, 'l'), join(this.layerDir(hex), 'fs'));
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

  async prepare(key: string, parents: LayerSource[], options: { signal?: AbortSignal } = {}): Promise<PreparedSnapshot> {
    const lowers: string[] = [];
    for (const p of parents) lowers.push(await this.ensureLayer(p, options.signal));
    const dir = join(this.root, 'active', `${safeKey(key)}-${randomBytes(4).toString('hex')}`);
    const a: Active = { dir, merged: join(dir, 'merged'), upper: join(dir, 'upper'), mounted: false };
    await mkdir(join(dir, 'work'), { recursive: true });
    await mkdir(a.upper, { recursive: true });
    await mkdir(a.merged, { recursive: true });
    if (lowers.length === 0) {
      await mkdir(join(dir, 'empty'), { recursive: true });
      lowers.push(posix.relative(this.root, join(dir, 'empty')));
    }
    // overlay wants the topmost layer first.
    const lowerdir = [...lowers].reverse().join(':');
    const rel = posix.relative(this.root, dir);
    // userxattr refuses redirect_dir=off (which still follows redirects); nofollow neither makes nor follows them.
    const redirect = this.options.rootless ? 'nofollow' : 'off';
    const opts = `lowerdir=${lowerdir},upperdir=${rel}/upper,workdir=${rel}/work,index=off,redirect_dir=${redirect},metacopy=off${this.options.rootless ? ',userxattr' : ''}`;
    try {
      await run('mount', ['-t', 'overlay', 'overlay', '-o', opts, a.merged], { cwd: this.root });
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw new TsbuildError('TSB_SANDBOX_UNAVAILABLE', `cannot mount overlayfs: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, {
        hint: 'use --snapshotter native, or see `tsbuild doctor`',
        cause: err,
      });
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
    const res = await writeLayerFromUpperDir(a.upper, this.store, {
      skip: options.skip,
      compression: options.compression,
      ...(options.sourceDateEpoch !== undefined ? { sourceDateEpoch: options.sourceDateEpoch } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }).catch((err: unknown) => {
      throw packingError(err, key, a.upper);
    });
    return { descriptor: res.descriptor, diffId: res.diffId, empty: res.empty };
  }

  private async unmount(a: Active): Promise<void> {
    if (!a.mounted) return;
    try {
      await run('umount', [a.merged]);
    } catch {
      await run('umount', ['-l', a.merged]).catch(() => undefined);
    }
    a.mounted = false;
  }

  async remove(key: string): Promise<void> {
    const a = this.active.get(key);
    if (!a) return;
    this.active.delete(key);
    await this.unmount(a);
    await rm(a.dir, { recursive: true, force: true });
  }

  /** Unmount everything still active (process exit, abort). */
  async removeAll(): Promise<void> {
    for (const key of [...this.active.keys()]) await this.remove(key);
  }
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
