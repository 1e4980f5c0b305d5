// Whether a layer unpacked on its own (an overlayfs lowerdir) shows exactly what applying it onto its
// parent layers shows (containerd's applier, umoci unpack). It does unless the layer reaches below a
// path its parents made a symlink or a file (usrmerged `/bin`), leans on a directory it does not
// describe that its parents have (overlay would show the bare implicit one), or hardlinks a file of
// its parents. Read from the unpacked layer dirs themselves: no mount.
import { lstatSync, readdirSync, type Stats } from 'node:fs';
import { fsx } from '../lib/layer/index.js';

/** What unpacking a layer on its own found out (written beside its dir as facts.json). */
export interface LayerFacts {
  v: 1;
  /** Directories made only as parents of entries, root-relative. */
  implicitDirs: string[];
  /** Hardlinks to files, and whiteouts in directories, that only the parents have (left out of the lone unpack). */
  dependsOnParents: number;
}

type Kind = 'absent' | 'dir' | 'other';

function lstatOrUndefined(p: string): Stats | undefined {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function isOpaque(p: string): boolean {
  const fx = fsx();
  for (const name of ['trusted.overlay.opaque', 'user.overlay.opaque']) {
    if (fx.lgetxattr(p, name)?.toString() === 'y') return true;
  }
  return false;
}

/** What `rel` is in the overlay of `lowers` (topmost first), by overlayfs's rules. */
function mergedKind(lowers: string[], rel: string[]): Kind {
  for (const lower of lowers) {
    let p = lower;
    let opaque = false;
    for (let j = 0; j < rel.length; j++) {
      p += `/${rel[j]}`;
      const st = lstatOrUndefined(p);
      if (!st) break; // not in this layer: look below, unless an opaque dir on the way hides it
      if (st.isCharacterDevice() && st.rdev === 0) return 'absent'; // a whiteout
      if (j === rel.length - 1) return st.isDirectory() ? 'dir' : 'other';
      // A non-directory on the way hides everything below it in the lower layers.
      if (!st.isDirectory()) return 'absent';
      if (isOpaque(p)) opaque = true;
    }
    if (opaque) return 'absent';
  }
  return 'absent';
}

/** True when `layerDir` stacked on `lowers` (topmost first) equals applying the layer onto them. */
export function standaloneFits(layerDir: string, facts: LayerFacts, lowers: string[]): boolean {
  if (facts.dependsOnParents > 0) return false;
  if (lowers.length === 0) return true;
  const implicit = new Set(facts.implicitDirs);
  const stack: string[][] = [[]];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const dir = rel.length === 0 ? layerDir : `${layerDir}/${rel.join('/')}`;
    for (const d of readdirSync(dir, { withFileTypes: true })) {
      if (!d.isDirectory()) continue; // a non-directory hides what is below it either way
      const child = [...rel, d.name];
      const kind = mergedKind(lowers, child);
      if (kind === 'absent') continue; // new here: nothing below can differ
      // Over a symlink or file, the applier may have gone through it; an implicit dir keeps the
      // lower dir's owner and mode when applied, not 0755 root.
      if (kind !== 'dir' || implicit.has(child.join('/'))) return false;
      // Below an opaque dir too: an implicit dir there keeps the lower one's owner and mode when applied.
      stack.push(child);
    }
  }
  return true;
}
