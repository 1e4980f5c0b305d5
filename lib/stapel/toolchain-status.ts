// What `tsbuild doctor` says about the ansible toolchain: stored or not, and whether this machine can
// make it (apt-cache knows ansible-core) — without changing anything or touching the network.
import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LayoutStore } from '../content/index.js';
import { formatReference, parseReference, type ImageConfig, type ImageManifest } from '../oci/index.js';
import { DEFAULT_STAPEL_IMAGE, STAPEL_PACKAGES_LABEL } from './stapel-layout.js';

const exec = promisify(execFile);

export interface StapelStatus {
  name: string;
  stored?: { digest: string; packages: number };
  /** The ansible-core version apt would install, when apt-cache is there and knows it. */
  aptCandidate?: string;
  /** One line for people. */
  detail: string;
}

export async function stapelStatus(storeRoot: string): Promise<StapelStatus> {
  const name = formatReference(parseReference(DEFAULT_STAPEL_IMAGE));
  const stored = await storedToolchain(storeRoot, name);
  if (stored) return { name, stored, detail: `${name} is stored (${stored.digest.slice(0, 19)}, ${stored.packages} packages)` };
  const aptCandidate = await candidate('ansible-core');
  const detail = aptCandidate
    ? `${name} is not stored; the first ansible build makes it from Debian packages (ansible-core ${aptCandidate}, needs the Debian archive or cached .deb files), or use --stapel-image REF`
    : `${name} is not stored and apt-cache knows no ansible-core here; ansible builds need --stapel-image REF (a toolchain pushed with \`tsbuild stapel build --push\` on a Debian host)`;
  return { name, ...(aptCandidate ? { aptCandidate } : {}), detail };
}

/** Read-only: a missing or unreadable store is "not stored" (doctor never creates one). */
async function storedToolchain(storeRoot: string, name: string): Promise<StapelStatus['stored']> {
  try {
    await access(join(storeRoot, 'index.json')); // opening a store creates it
    const store = new LayoutStore(storeRoot);
    const desc = await store.resolve(name);
    if (!desc) return undefined;
    const manifest = await store.readJson<ImageManifest>(desc.digest);
    const config = await store.readJson<ImageConfig>(manifest.config.digest);
    const packages = (config.config?.Labels?.[STAPEL_PACKAGES_LABEL] ?? '').split('\n').filter(Boolean).length;
    return { digest: desc.digest, packages };
  } catch {
    return undefined;
  }
}

async function candidate(pkg: string): Promise<string | undefined> {
  try {
    const { stdout } = await exec('apt-cache', ['policy', pkg], { env: { ...process.env, LC_ALL: 'C' }, timeout: 30_000 });
    const m = /^\s*Candidate:\s*(\S+)/m.exec(stdout);
    return m && m[1] !== '(none)' ? m[1] : undefined;
  } catch {
    return undefined;
  }
}
