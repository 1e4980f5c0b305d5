// Manifest GET/HEAD/PUT. The digest recorded is always the one computed from the bytes: by-digest
// fetches must match it, and a Docker-Content-Digest header that disagrees is an error (B3).
import { isDigest, parseDigest, sha256, type Digest } from '../digest.js';
import { DigestMismatchError, TsbuildError } from '../errors.js';
import {
  MediaType,
  formatReference,
  isIndexMediaType,
  isManifestMediaType,
  type Descriptor,
  type ImageIndex,
  type ImageManifest,
  type Reference,
  MANIFEST_LIMIT,
} from '../oci/index.js';
import { closeBody } from './http-body.js';
import type { RegistryClient } from './registry-client.js';
import { RegistryError } from './registry-error.js';
import { sleep } from './retry-policy.js';

/** Pauses (ms) before asking again when a manifest PUT names a blob unknown (see putManifest). */
const BLOB_UNKNOWN_RETRIES = [100, 400, 1500];

const MANIFEST_ACCEPT = [MediaType.OciManifest, MediaType.OciIndex, MediaType.DockerManifest, MediaType.DockerManifestList].join(', ');

export interface FetchedManifest {
  descriptor: Descriptor;
  bytes: Buffer;
  /** Parsed document: an image manifest or an index (check with isIndexMediaType(descriptor.mediaType)). */
  document: ImageManifest | ImageIndex;
}

export interface SignalOptions {
  signal?: AbortSignal | undefined;
}

function referencePart(ref: Reference): string {
  if (ref.digest) return ref.digest;
  if (ref.tag) return ref.tag;
  throw new TsbuildError('TSB_REF_INVALID', `reference ${formatReference(ref)} has neither tag nor digest`);
}

function firstHeader(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

/** Decide the media type from the document itself; the Content-Type header only fills a gap. */
export function classifyManifest(bytes: Buffer, contentType: string | undefined, what: string): { mediaType: string; document: ImageManifest | ImageIndex } {
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(bytes.toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: the manifest is not valid JSON`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: the manifest is not a JSON object`);
  }
  const ct = contentType?.split(';')[0]?.trim();
  const declared = typeof doc.mediaType === 'string' ? doc.mediaType : undefined;
  if (
    doc.schemaVersion === 1 ||
    declared === MediaType.DockerSchema1 ||
    declared === MediaType.DockerSchema1Signed ||
    ct === MediaType.DockerSchema1 ||
    ct === MediaType.DockerSchema1Signed
  ) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: Docker schema 1 manifests are not supported`, {
      hint: 'schema 1 is deprecated and removed from Docker and containerd; re-push the image with a current client (e.g. `skopeo copy --format v2s2`)',
    });
  }
  if (doc.schemaVersion !== 2) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: unsupported manifest schemaVersion ${JSON.stringify(doc.schemaVersion)}`);
  }
  const hasManifests = Array.isArray(doc.manifests);
  const hasLayers = Array.isArray(doc.layers) || doc.config !== undefined;
  if (hasManifests && hasLayers) {
    // GHSA-5j5w-g665-5m35: a document that is both an index and a manifest is ambiguous.
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: the document has both "manifests" and "layers"/"config"; refusing an ambiguous manifest`);
  }
  let mediaType = declared;
  if (declared && ct && ct !== declared && (isManifestMediaType(ct) || isIndexMediaType(ct))) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: Content-Type ${ct} disagrees with the document's mediaType ${declared}`);
  }
  if (!mediaType) {
    if (ct && (isManifestMediaType(ct) || isIndexMediaType(ct))) mediaType = ct;
    else mediaType = hasManifests ? MediaType.OciIndex : MediaType.OciManifest;
  }
  if (isIndexMediaType(mediaType)) {
    if (!hasManifests) throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: an index without a "manifests" list`);
    for (const d of doc.manifests as unknown[]) checkDescriptor(d, what);
  } else if (isManifestMediaType(mediaType)) {
    if (hasManifests || !Array.isArray(doc.layers) || doc.config === undefined) {
      throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: an image manifest needs "config" and "layers"`);
    }
    checkDescriptor(doc.config, what);
    for (const d of doc.layers as unknown[]) checkDescriptor(d, what);
  } else {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: unsupported manifest media type ${mediaType}`, {
      hint: 'tsbuild reads OCI and Docker schema 2 image manifests and indexes',
    });
  }
  return { mediaType, document: doc as unknown as ImageManifest | ImageIndex };
}

/** Descriptors are validated before their digests touch a URL or a path (CVE-2024-3727). */
function checkDescriptor(d: unknown, what: string): void {
  const desc = d as Partial<Descriptor> | null;
  if (
    !desc ||
    typeof desc !== 'object' ||
    typeof desc.mediaType !== 'string' ||
    !isDigest(desc.digest) ||
    !Number.isSafeInteger(desc.size) ||
    (desc.size as number) < 0
  ) {
    throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: invalid descriptor ${JSON.stringify(d)?.slice(0, 300)}`);
  }
}

/** GET a manifest or index (by tag or digest), size-capped and digest-checked. */
export async function getManifest(client: RegistryClient, ref: Reference, options: SignalOptions = {}): Promise<FetchedManifest> {
  const part = referencePart(ref);
  const what = `manifest ${formatReference(ref)}`;
  const { res, bytes } = await client.fetchDocument(
    {
      method: 'GET',
      registry: ref.registry,
      repository: ref.repository,
      path: `manifests/${part}`,
      headers: { accept: MANIFEST_ACCEPT },
      actions: ['pull'],
      okStatuses: [200],
      signal: options.signal,
    },
    MANIFEST_LIMIT,
    what,
  );
  const digest = sha256(bytes);
  if (ref.digest && ref.digest !== digest) throw new DigestMismatchError(what, ref.digest, digest);
  const headerDigest = firstHeader(res.headers['docker-content-digest']);
  if (!ref.digest && headerDigest && isDigest(headerDigest) && headerDigest !== digest) {
    throw new DigestMismatchError(`${what} (Docker-Content-Digest header vs. body)`, headerDigest, digest);
  }
  const { mediaType, document } = classifyManifest(bytes, firstHeader(res.headers['content-type']), what);
  return { descriptor: { mediaType, digest, size: bytes.length }, bytes, document };
}

/** HEAD a manifest: its descriptor, or undefined when the registry does not have it. */
export async function headManifest(client: RegistryClient, ref: Reference, options: SignalOptions = {}): Promise<Descriptor | undefined> {
  const res = await client.send({
    method: 'HEAD',
    registry: ref.registry,
    repository: ref.repository,
    path: `manifests/${referencePart(ref)}`,
    headers: { accept: MANIFEST_ACCEPT },
    actions: ['pull'],
    okStatuses: [200, 404],
    signal: options.signal,
  });
  closeBody(res.body);
  if (res.status === 404) return undefined;
  const digest = firstHeader(res.headers['docker-content-digest']);
  const size = Number(firstHeader(res.headers['content-length']));
  const mediaType = firstHeader(res.headers['content-type'])?.split(';')[0]?.trim();
  if (!digest || !isDigest(digest) || !Number.isSafeInteger(size) || !mediaType || (ref.digest && digest !== ref.digest)) {
    // Not every registry answers HEAD fully; a GET gives the truth.
    const m = await getManifest(client, ref, options);
    return m.descriptor;
  }
  return { mediaType, digest, size };
}

/** The digest a tag (or digest) currently points at; NOT_FOUND error when there is none. */
export async function resolveDigest(client: RegistryClient, ref: Reference, options: SignalOptions = {}): Promise<Digest> {
  const desc = await headManifest(client, ref, options);
  if (!desc) {
    throw new RegistryError({
      method: 'HEAD',
      url: `${client.baseUrl(ref.registry)}/v2/${ref.repository}/manifests/${referencePart(ref)}`,
      status: 404,
      registry: ref.registry,
      message: `${formatReference(ref)} not found`,
    });
  }
  return desc.digest;
}

/** PUT a manifest under ref's tag (or digest); returns the computed digest. */
export async function putManifest(client: RegistryClient, ref: Reference, bytes: Buffer, mediaType: string, options: SignalOptions = {}): Promise<Descriptor> {
  if (bytes.length > MANIFEST_LIMIT) {
    throw new TsbuildError('TSB_TOO_LARGE', `manifest for ${formatReference(ref)} is ${bytes.length} bytes; registries accept at most ${MANIFEST_LIMIT}`);
  }
  const digest = sha256(bytes);
  if (ref.digest && ref.digest !== digest) throw new DigestMismatchError(`manifest for ${formatReference(ref)}`, ref.digest, digest);
  const put = () =>
    client.send({
      method: 'PUT',
      registry: ref.registry,
      repository: ref.repository,
      path: `manifests/${ref.tag ?? digest}`,
      headers: { 'content-type': mediaType },
      body: () => bytes,
      actions: ['pull', 'push'],
      okStatuses: [200, 201, 202],
      signal: options.signal,
    });
  let res: Awaited<ReturnType<typeof put>>;
  for (let attempt = 0; ; attempt++) {
    try {
      res = await put();
      break;
    } catch (err) {
      // The caller pushed (or found) every blob first, so a blob the registry calls unknown is most
      // likely one another pusher is writing the link of right now: distribution's filesystem driver
      // rewrites a repository's blob link in place (truncate, write), and a concurrent manifest PUT
      // that reads it empty answers DIGEST_INVALID + MANIFEST_BLOB_UNKNOWN. Seen with four builders
      // pushing one image at once. Asked again after a pause; a blob really missing still fails.
      if (attempt >= BLOB_UNKNOWN_RETRIES.length || !(err instanceof RegistryError) || !err.specCodes.includes('MANIFEST_BLOB_UNKNOWN')) throw err;
      await sleep(BLOB_UNKNOWN_RETRIES[attempt]!, options.signal);
    }
  }
  closeBody(res.body);
  const got = firstHeader(res.headers['docker-content-digest']);
  if (got && isDigest(got) && got !== digest) {
    throw new DigestMismatchError(`manifest pushed to ${formatReference(ref)} (registry's Docker-Content-Digest)`, digest, got);
  }
  return { mediaType, digest: parseDigest(digest), size: bytes.length };
}
