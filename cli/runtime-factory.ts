// Wires the concrete runtime (bubblewrap + overlayfs) to the library's contracts.
import type { LayoutStore } from '../lib/content/index.js';
import type { HomePaths } from '../lib/home.js';
import type { Runtime } from '../lib/index.js';
import { BwrapSandbox } from '../runtime/bwrap-sandbox.js';
import { OverlaySnapshotter } from '../runtime/overlay-snapshotter.js';

export function createRuntime(home: HomePaths, store: LayoutStore): Runtime & { snapshotter: OverlaySnapshotter } {
  return { sandbox: new BwrapSandbox(), snapshotter: new OverlaySnapshotter(home.snapshots, store) };
}
