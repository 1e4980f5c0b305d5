// The Debian packages of the toolchain: the dependency closure of ansible-core and python3 as the
// host's apt sees it, minus packages the toolchain never runs (perl, dpkg, debconf, network clients).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { TsbuildError } from '../errors.js';

const exec = promisify(execFile);

/**
 * What the toolchain is made of: ansible brings the collections werf's whitelisted modules moved to
 * (apk, npm, openssl_*…; pruned to the few needed), libc-bin the C.utf8 locale, passwd and coreutils
 * the programs modules and ansible's own shell commands need on bases without them (busybox, distroless).
 */
const STAPEL_ROOTS = ['ansible-core', 'ansible', 'python3', 'libc-bin', 'passwd', 'coreutils'] as const;

/**
 * Packages left out together with everything only they need: maintainer-script machinery and tools
 * ansible's modules take from the image, not from the toolchain (the image's apt, ssh, curl…).
 */
export const STAPEL_PRUNED = new Set([
  'perl',
  'perl-base',
  'perl-modules-5.36',
  'libperl5.36',
  'debconf',
  'cdebconf',
  'dpkg',
  'adduser',
  'install-info',
  'ieee-data',
  'openssh-client',
  'curl',
  'wget',
  'tar',
  'mailcap',
  'mime-support',
  'media-types',
  'python3-distutils',
  'python3-lib2to3',
  'gcc-12-base',
  'readline-common',
  'netbase',
  'ca-certificates',
  'openssl',
]);

export interface DebPackage {
  name: string;
  version: string;
  architecture: string;
  /** Pool path, as apt names the file (used only for messages). */
  filename: string;
  sha256: string;
}

async function aptCache(args: string[]): Promise<string> {
  try {
    const { stdout } = await exec('apt-cache', args, { maxBuffer: 64 << 20, env: { ...process.env, LC_ALL: 'C' } });
    return stdout;
  } catch (err) {
    const e = err as { code?: string; stderr?: string; message: string };
    if (e.code === 'ENOENT') {
      throw new TsbuildError('TSB_TOOL_MISSING', 'apt-cache is not available: the stapel toolchain is built from Debian packages', {
        hint: 'run `tsbuild stapel build` on a Debian (bookworm) host and --push it, or use a mirrored toolchain with --stapel-image REF',
        cause: err,
      });
    }
    throw new TsbuildError('TSB_TOOL_MISSING', `apt-cache ${args.slice(0, 3).join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, {
      hint: 'run `apt-get update` (as root) so the package lists are current',
      cause: err,
    });
  }
}

/**
 * Breadth-first over `apt-cache depends` (Depends and PreDepends only): of alternatives the first
 * one not pruned is taken; a virtual package resolves to its first provider.
 */
export async function resolveClosure(roots: readonly string[] = STAPEL_ROOTS, pruned: ReadonlySet<string> = STAPEL_PRUNED): Promise<string[]> {
  const seen = new Set<string>(roots);
  let frontier = [...roots];
  while (frontier.length > 0) {
    const out = await aptCache(['depends', '--no-recommends', '--no-suggests', '--no-conflicts', '--no-breaks', '--no-replaces', '--no-enhances', ...frontier]);
    const next: string[] = [];
    for (const group of dependencyGroups(out)) {
      if (group.some((alt) => seen.has(alt))) continue;
      const pick = group.find((alt) => !pruned.has(alt));
      if (pick === undefined) continue;
      seen.add(pick);
      next.push(pick);
    }
    frontier = next;
  }
  return [...seen].sort();
}

/** Dependency groups (alternatives) from `apt-cache depends` output, virtual names replaced by providers. */
function dependencyGroups(text: string): string[][] {
  const groups: string[][] = [];
  let current: string[] = [];
  let virtualOpen = false;
  let continues = false;
  for (const line of text.split('\n')) {
    const dep = /^ {2}(\|)?(?:Pre)?Depends: (<)?([^>\s]+)>?/.exec(line);
    if (dep) {
      const name = dep[3]!.replace(/:any$/, '');
      if (!continues && current.length > 0) groups.push(current);
      if (!continues) current = [];
      virtualOpen = dep[2] === '<';
      if (!virtualOpen) current.push(name);
      continues = dep[1] === '|';
      continue;
    }
    const provider = /^ {4}(\S+)/.exec(line);
    if (provider && virtualOpen) {
      current.push(provider[1]!.replace(/:any$/, ''));
      continue;
    }
    if (/^\S/.test(line)) {
      if (current.length > 0) groups.push(current);
      current = [];
      continues = false;
      virtualOpen = false;
    }
  }
  if (current.length > 0) groups.push(current);
  return groups.filter((g) => g.length > 0);
}

/** The candidate version apt would install, with its file name and checksum, for each package. */
export async function describePackages(names: readonly string[]): Promise<DebPackage[]> {
  const out = await aptCache(['show', '--no-all-versions', ...names]);
  const found = new Map<string, DebPackage>();
  for (const record of out.split(/\n\n+/)) {
    const field = (k: string): string | undefined => new RegExp(`^${k}: (.*)$`, 'm').exec(record)?.[1]?.trim();
    const name = field('Package');
    const version = field('Version');
    const architecture = field('Architecture');
    const filename = field('Filename');
    const sha256 = field('SHA256');
    if (!name || !version || !architecture || !filename || !sha256) continue;
    if (!found.has(name)) found.set(name, { name, version, architecture, filename, sha256 });
  }
  const missing = names.filter((n) => !found.has(n));
  if (missing.length > 0) {
    throw new TsbuildError('TSB_TOOL_MISSING', `apt knows no installable version of: ${missing.join(', ')}`, {
      hint: 'run `apt-get update` (as root); the toolchain is made from Debian bookworm packages',
    });
  }
  return names.map((n) => found.get(n)!);
}
