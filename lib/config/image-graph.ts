// Whole-config checks after every image is read (werf-spec §3.1): duplicate names, the nameless image
// rule, references to images that do not exist, and cycles reported with their path (a -> b -> a).
import type { MapReader } from './node-reader.js';
import type { ImageSpec } from './types.js';

interface Edge {
  name: string;
  key: string;
}

/** The images an image needs built first: its base, import sources and dependencies. */
function imageEdges(img: ImageSpec, isImage: (name: string) => boolean): Edge[] {
  const out: Edge[] = [];
  // v2: `from` naming another image of this config is that image (its own name means the registry image).
  if (img.fromImage !== undefined) out.push({ name: img.fromImage, key: 'fromImage' });
  else if (img.fromArtifact !== undefined) out.push({ name: img.fromArtifact, key: 'fromArtifact' });
  else if (img.from !== undefined && img.from !== img.name && isImage(img.from)) out.push({ name: img.from, key: 'from' });
  for (const imp of img.imports) {
    const n = imp.image ?? imp.artifact;
    if (n !== undefined) out.push({ name: n, key: 'import' });
  }
  for (const d of img.dependencies) out.push({ name: d.image, key: 'dependencies' });
  return out;
}

export function validateGraph(images: ImageSpec[], readers: MapReader[]): void {
  const byName = new Map<string, number>();
  images.forEach((img, i) => {
    if (byName.has(img.name)) readers[i]!.fail(`duplicate image name "${img.name || '~'}"`, img.isArtifact ? 'artifact' : 'image');
    byName.set(img.name, i);
  });
  if (byName.has('') && images.length > 1) {
    readers[byName.get('')!]!.fail('a nameless image (`image: ~`) is only allowed when it is the only image', 'image');
  }
  const isImage = (n: string): boolean => byName.has(n);
  images.forEach((img, i) => {
    const r = readers[i]!;
    for (const e of imageEdges(img, isImage)) {
      if (e.name === img.name) r.fail(`${r.where} references itself in "${e.key}"`, e.key);
      if (!byName.has(e.name)) {
        const known = [...byName.keys()].filter((n) => n !== '').sort();
        r.fail(
          `${r.where}: image "${e.name}" referenced in "${e.key}" not found`,
          e.key,
          known.length ? `images defined in this config: ${known.join(', ')}` : undefined,
        );
      }
    }
  });
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name];
      readers[byName.get(cycle[0]!)!]!.fail(`infinite loop detected: ${cycle.map((n) => n || '~').join(' -> ')}`);
    }
    state.set(name, 'visiting');
    for (const e of imageEdges(images[byName.get(name)!]!, isImage)) visit(e.name, [...path, name]);
    state.set(name, 'done');
  };
  for (const img of images) visit(img.name, []);
}
