// The store checker of the reliability catalog: every blob hashes to its name, index.json parses,
// and every manifest a reference names has its config and layers present with the declared sizes.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

interface Desc {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

/** Problems found in the OCI layout at `root` (empty when it is consistent). */
export async function checkStore(root: string): Promise<string[]> {
  const problems: string[] = [];
  const blobs = join(root, 'blobs', 'sha256');
  for (const name of await readdir(blobs).catch(() => [] as string[])) {
    const actual = await sha256File(join(blobs, name));
    if (actual !== name) problems.push(`blob ${name} hashes to ${actual}`);
  }
  let index: { manifests?: Desc[] };
  const names = await readdir(blobs).catch(() => [] as string[]);
  // Killed before init() wrote index.json: a store not made yet is valid if it holds nothing (init is
  // idempotent and finishes it on the next open).
  if (!(await stat(join(root, 'index.json')).catch(() => undefined)))
    return names.length === 0 ? problems : [...problems, 'index.json is missing but blobs exist'];
  try {
    index = JSON.parse(await readFile(join(root, 'index.json'), 'utf8')) as { manifests?: Desc[] };
  } catch (err) {
    return [...problems, `index.json: ${(err as Error).message}`];
  }
  const present = async (d: Desc, what: string): Promise<boolean> => {
    const st = await stat(join(blobs, d.digest.slice('sha256:'.length))).catch(() => undefined);
    if (!st) {
      problems.push(`${what} ${d.digest} is missing`);
      return false;
    }
    if (st.size !== d.size) problems.push(`${what} ${d.digest} is ${st.size} bytes, descriptor says ${d.size}`);
    return true;
  };
  for (const m of index.manifests ?? []) {
    const name = m.annotations?.['org.opencontainers.image.ref.name'] ?? m.digest;
    if (!(await present(m, `manifest of ${name}`))) continue;
    const manifest = JSON.parse(await readFile(join(blobs, m.digest.slice('sha256:'.length)), 'utf8')) as {
      config?: Desc;
      layers?: Desc[];
      manifests?: Desc[];
    };
    if (manifest.manifests) continue; // an index (base image lists): children are checked when named
    if (manifest.config) await present(manifest.config, `config of ${name}`);
    // Stages found in a registry keep their layers there until built on: only stored layers are checked.
    for (const l of manifest.layers ?? []) {
      const st = await stat(join(blobs, l.digest.slice('sha256:'.length))).catch(() => undefined);
      if (st && st.size !== l.size) problems.push(`layer ${l.digest} of ${name} is ${st.size} bytes, descriptor says ${l.size}`);
    }
  }
  return problems;
}
