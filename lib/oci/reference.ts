// Image references ("alpine", "reg:5000/ns/app:tag", "x@sha256:…") normalised like Docker does.
import { isDigest, type Digest } from '../digest.js';
import { TsbuildError } from '../errors.js';

export const DOCKER_HUB = 'docker.io';
const DOCKER_HUB_API = 'registry-1.docker.io';

export interface Reference {
  /** Registry host[:port] as written (docker.io for Docker Hub). */
  registry: string;
  /** Repository path inside the registry (library/ prefixed for Hub official images). */
  repository: string;
  tag?: string;
  digest?: Digest;
}

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;

function looksLikeRegistry(first: string): boolean {
  return first.includes('.') || first.includes(':') || first === 'localhost' || /^\[.*\]/.test(first);
}

export function parseReference(text: string): Reference {
  const fail = (why: string): never => {
    throw new TsbuildError('TSB_REF_INVALID', `invalid image reference "${text}": ${why}`, {
      hint: 'use [REGISTRY[:PORT]/]REPOSITORY[:TAG][@sha256:DIGEST], e.g. alpine:3.20 or 127.0.0.1:5000/team/app:1.0',
    });
  };
  if (!text || text.length > 4096 || /\s/.test(text)) fail('empty, too long or contains whitespace');
  let rest = text;
  let digest: Digest | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) fail(`bad digest "${d}"`);
    digest = d as Digest;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!TAG_RE.test(tag)) fail(`bad tag "${tag}"`);
  }
  const parts = rest.split('/');
  let registry = DOCKER_HUB;
  if (parts.length > 1 && looksLikeRegistry(parts[0]!)) {
    registry = parts.shift()!;
  }
  if (registry === 'index.docker.io' || registry === DOCKER_HUB_API) registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && parts.length === 1) parts.unshift('library');
  for (const p of parts) if (!PATH_COMPONENT.test(p)) fail(`bad repository path component "${p}"`);
  const ref: Reference = { registry, repository: parts.join('/') };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  if (!ref.tag && !ref.digest) ref.tag = 'latest';
  return ref;
}

/** Parse "REG/NAME" as given to --repo: a repository without tag or digest. */
export function parseRepository(text: string): Reference {
  const ref = parseReference(text);
  if (ref.digest || /:[^/]*$/.test(text.replace(/^[^/]*\//, ''))) {
    throw new TsbuildError('TSB_USAGE', `--repo "${text}" must be a repository without tag or digest`, {
      hint: 'for example --repo 127.0.0.1:5000/myproject',
    });
  }
  delete ref.tag;
  return ref;
}

/** The host to connect to (Docker Hub's API host differs from its name). */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

export function formatReference(ref: Reference): string {
  let s = `${ref.registry}/${ref.repository}`;
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

export function withTag(ref: Reference, tag: string): Reference {
  return { registry: ref.registry, repository: ref.repository, tag };
}

export function withDigest(ref: Reference, digest: Digest): Reference {
  return { registry: ref.registry, repository: ref.repository, digest };
}

/** Loopback registries are reached over plain http; every other host over https. */
export function isLoopbackRegistry(registry: string): boolean {
  const host = registry.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}
