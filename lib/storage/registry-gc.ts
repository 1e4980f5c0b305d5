// Maintenance of a stages repository (`tsbuild stages list|purge|gc --repo R`). Unlike builds, these
// commands list the repository's tags. Deleting removes manifests by digest; blobs stay until the
// registry's own garbage collection, so a build running meanwhile never loses a layer it uses.
import { TsbuildError } from '../errors.js';
import { withTag, type ImageManifest, type Reference } from '../oci/index.js';
import { RegistryError, getManifest, redactUrl, type RegistryClient } from '../registry/index.js';
import type { StageRecord } from './local-stages.js';
import { RECORD_ANNOTATION } from './registry-stages.js';
import { SIGNATURE, signaturesIn } from './signatures-in.js';

export interface RegistryStage {
  tag: string;
  digest: string;
  record: StageRecord;
}

/** What all pages of a tag list may add up to (a million signature tags are ~70 MB). */
const TAG_LIST_LIMIT = 128 << 20;

/** Every tag of the repository (following Link pagination); none when the repository does not exist. */
async function listTags(client: RegistryClient, repo: Reference, options: { signal?: AbortSignal | undefined } = {}): Promise<string[]> {
  const tags: string[] = [];
  let path: string | undefined = 'tags/list?n=1000';
  let url: string | undefined;
  const what = `tags of ${repo.registry}/${repo.repository}`;
  // A registry's Link can point back at a page already read, or on for ever: neither may keep us
  // listing (each page is capped at 16 MiB; all of them together at TAG_LIST_LIMIT).
  const seen = new Set<string>();
  let total = 0;
  while (path || url) {
    if (url !== undefined) {
      if (seen.has(url))
        throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: the registry's Link leads back to a page already read (${redactUrl(url)})`);
      seen.add(url);
    }
    const { res, bytes } = await client.fetchDocument(
      {
        method: 'GET',
        registry: repo.registry,
        repository: repo.repository,
        ...(url ? { url } : { path: path! }),
        actions: ['pull'],
        okStatuses: [200, 404],
        signal: options.signal,
      },
      16 << 20,
      what,
    );
    if (res.status === 404) return [];
    total += bytes.length;
    if (total > TAG_LIST_LIMIT) throw new TsbuildError('TSB_TOO_LARGE', `${what}: the pages of the tag list add up to more than ${TAG_LIST_LIMIT} bytes`);
    const text = bytes.toString('utf8');
    let body: { tags?: string[] | null };
    try {
      body = JSON.parse(text) as { tags?: string[] | null };
    } catch {
      throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${repo.registry} answered the tag list of ${repo.repository} with something other than JSON`);
    }
    const page = body?.tags ?? [];
    if (!Array.isArray(page)) throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${what}: "tags" is not a list`);
    for (const t of page) if (typeof t === 'string') tags.push(t);
    const link = [res.headers.link].flat()[0];
    const next = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link)?.[1] : undefined;
    path = undefined;
    url = next ? new URL(next, client.baseUrl(repo.registry)).toString() : undefined;
  }
  return tags;
}

/** The tsbuild stages of the repository (tags that are signatures, with a stage record); other tags are left alone. */
export async function listRegistryStages(
  client: RegistryClient,
  repo: Reference,
  options: { signal?: AbortSignal | undefined } = {},
): Promise<RegistryStage[]> {
  const tags = (await listTags(client, repo, options)).filter((t) => SIGNATURE.test(t));
  const out: RegistryStage[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tags.length) {
      const tag = tags[next++]!;
      let fetched;
      try {
        fetched = await getManifest(client, withTag(repo, tag), options);
      } catch (err) {
        if (err instanceof RegistryError && err.status === 404) continue; // deleted meanwhile
        throw err;
      }
      const text = (fetched.document as ImageManifest).annotations?.[RECORD_ANNOTATION];
      if (!text) continue;
      try {
        const record = JSON.parse(text) as StageRecord;
        if (record.signature === tag) out.push({ tag, digest: fetched.descriptor.digest, record });
      } catch {
        // not a record we wrote: leave it alone
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, client.concurrency * 2) }, worker));
  return out.sort((a, b) => a.record.created.localeCompare(b.record.created));
}

/** DELETE a manifest by digest (every tag pointing at it goes with it). */
async function deleteManifest(client: RegistryClient, repo: Reference, digest: string, options: { signal?: AbortSignal | undefined } = {}): Promise<void> {
  try {
    const res = await client.send({
      method: 'DELETE',
      registry: repo.registry,
      repository: repo.repository,
      path: `manifests/${digest}`,
      actions: ['pull', 'push'],
      okStatuses: [200, 202, 404],
      signal: options.signal,
    });
    res.body.resume();
  } catch (err) {
    if (err instanceof RegistryError && (err.status === 405 || err.status === 400)) {
      throw new TsbuildError('TSB_REGISTRY_UNSUPPORTED', `${repo.registry} refused to delete ${repo.repository}@${digest} (HTTP ${err.status})`, {
        hint: 'enable deletion on the registry (distribution: storage.delete.enabled: true / REGISTRY_STORAGE_DELETE_ENABLED=true; Harbor, GHCR and ECR need a token with delete rights)',
        cause: err,
      });
    }
    throw err;
  }
}

export interface GcPlan {
  keep: RegistryStage[];
  remove: RegistryStage[];
}

/**
 * Stages to keep: those reached from a final stage created in the last `keepDays` days, walking
 * parent links and signatures named in the records' inputs (fromImage bases, import sources).
 * A final stage is one no other stage builds on. As with werf's keepImagesBuiltWithinLastNHours,
 * age is the time a stage was built, not the time a build last reused it.
 */
export function planRegistryGc(stages: RegistryStage[], keepDays: number, now = Date.now()): GcPlan {
  const bySig = new Map(stages.map((s) => [s.tag, s]));
  const parents = new Set(stages.map((s) => s.record.parent).filter((p): p is string => !!p));
  const cutoff = now - keepDays * 86_400_000;
  const keep = new Set<string>();
  const visit = (sig: string): void => {
    if (keep.has(sig)) return;
    const s = bySig.get(sig);
    if (!s) return;
    keep.add(sig);
    if (s.record.parent) visit(s.record.parent);
    for (const named of signaturesIn(s.record.inputs)) visit(named);
  };
  for (const s of stages) {
    const created = Date.parse(s.record.created);
    const recent = Number.isNaN(created) || created >= cutoff; // an unreadable date is kept, never guessed old
    if (!parents.has(s.tag) && recent) visit(s.tag);
  }
  return { keep: stages.filter((s) => keep.has(s.tag)), remove: stages.filter((s) => !keep.has(s.tag)) };
}

/** Delete these stages' manifests (each digest once). */
export async function removeRegistryStages(
  client: RegistryClient,
  repo: Reference,
  stages: RegistryStage[],
  options: { signal?: AbortSignal | undefined } = {},
): Promise<number> {
  const digests = [...new Set(stages.map((s) => s.digest))];
  for (const d of digests) {
    options.signal?.throwIfAborted();
    await deleteManifest(client, repo, d, options);
  }
  return digests.length;
}
