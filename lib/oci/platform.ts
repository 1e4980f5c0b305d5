// Platform strings ("linux/amd64/v8") and the host platform, for choosing manifests from an index.
import { TsbuildError } from '../errors.js';
import type { Platform } from './types.js';

const NODE_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

export function hostPlatform(): Platform {
  const architecture = NODE_ARCH[process.arch] ?? process.arch;
  const p: Platform = { os: 'linux', architecture };
  if (architecture === 'arm64') p.variant = 'v8';
  return p;
}

export function parsePlatform(text: string): Platform {
  const parts = text.split('/');
  const [os, architecture, variant] = parts;
  if (!os || !architecture || parts.length > 3) {
    throw new TsbuildError('TSB_USAGE', `invalid platform "${text}"`, { hint: 'use OS/ARCH[/VARIANT], e.g. linux/amd64 or linux/arm64/v8' });
  }
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Whether a candidate from an index satisfies the wanted platform (variant optional on either side for amd64). */
export function platformMatches(want: Platform, have: Platform | undefined): boolean {
  if (!have) return false;
  if (want.os !== have.os || want.architecture !== have.architecture) return false;
  if (want.variant && have.variant && want.variant !== have.variant) return false;
  return true;
}
