// Fetch the toolchain's .deb files with `apt-get download` into a cache directory, verified against
// the SHA256 apt's package lists give; files already there (and intact) are not fetched again.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TsbuildError } from '../errors.js';
import type { DebPackage } from './packages.js';

const exec = promisify(execFile);

/** The file name apt-get download gives a package (an epoch's ':' is written %3a). */
function debFileName(p: DebPackage): string {
  return `${p.name}_${p.version.replace(/:/g, '%3a')}_${p.architecture}.deb`;
}

async function sha256File(path: string): Promise<string | undefined> {
  const h = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  } catch {
    return undefined;
  }
  return h.digest('hex');
}

export interface DownloadOptions {
  onProgress?: (message: string) => void;
  signal?: AbortSignal | undefined;
}

/** Every package's .deb in `cacheDir`; returns their paths in the order of `packages`. */
export async function downloadDebs(packages: readonly DebPackage[], cacheDir: string, opts: DownloadOptions = {}): Promise<string[]> {
  await mkdir(cacheDir, { recursive: true });
  const missing: DebPackage[] = [];
  for (const p of packages) {
    const sum = await sha256File(join(cacheDir, debFileName(p)));
    if (sum !== p.sha256) missing.push(p);
  }
  if (missing.length > 0) {
    opts.onProgress?.(`downloading ${missing.length} of ${packages.length} packages with apt-get download`);
    for (const p of missing) await rm(join(cacheDir, debFileName(p)), { force: true });
    try {
      // As root apt drops to the _apt user for downloads, which cannot write a root-owned cache dir.
      await exec('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...missing.map((p) => `${p.name}=${p.version}`)], {
        cwd: cacheDir,
        maxBuffer: 16 << 20,
        env: { ...process.env, LC_ALL: 'C' },
        signal: opts.signal,
      });
    } catch (err) {
      const e = err as { code?: string; stderr?: string; message: string };
      if (e.code === 'ENOENT') {
        throw new TsbuildError('TSB_TOOL_MISSING', 'apt-get is not available: the stapel toolchain is built from Debian packages', {
          hint: 'build it on a Debian (bookworm) host and --push it, then use --stapel-image REF',
          cause: err,
        });
      }
      throw new TsbuildError('TSB_REGISTRY_NETWORK', `apt-get download failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' ')}`, {
        hint: 'check access to the Debian mirror in /etc/apt/sources.list(.d) and run `apt-get update`',
        cause: err,
      });
    }
    for (const p of missing) {
      const sum = await sha256File(join(cacheDir, debFileName(p)));
      if (sum !== p.sha256) {
        throw new TsbuildError('TSB_DIGEST_MISMATCH', `${debFileName(p)}: sha256 ${sum ?? '(file missing)'} differs from the package lists' ${p.sha256}`, {
          hint: 'run `apt-get update` and try again; the mirror may be in the middle of an update',
        });
      }
    }
  }
  return packages.map((p) => join(cacheDir, debFileName(p)));
}
