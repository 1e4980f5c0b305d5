// Stages kept in the local OCI layout: ref "stages/<project>:<signature>", with the stage's
// identity and signature inputs in the index entry's annotations (for explanations and listing).
import type { ImageStore } from '../content/index.js';
import { readStoredImage, type StoredImage } from '../image/index.js';
import { TSBUILD_ANNOTATION, type Descriptor } from '../oci/index.js';

export const ANNOTATION = TSBUILD_ANNOTATION;

export interface StageRecord {
  project: string;
  imageName: string;
  stage: string;
  signature: string;
  parent: string | null;
  inputs: Record<string, unknown>;
  created: string;
  /** What the stage carries forward (git commits), see StageState in lib/conveyor. */
  state?: Record<string, unknown>;
  /** Content checksums of what other images import from this stage, by import selection key (planning reads these instead of layers). */
  importChecksums?: Record<string, string>;
  /**
   * On an image's last stage: every stage of the image up to this one with the state it carries
   * forward. A runner that finds this stage by its chain tag (RegistryStages.fetchChain) computes all
   * the image's signatures from it, with no request per stage. Published with the record; not kept
   * in the local store's annotations (a local lookup costs nothing).
   */
  chain?: StageChainEntry[];
}

export interface StageChainEntry {
  signature: string;
  state: Record<string, unknown>;
}

export interface StoredStage extends StageRecord {
  descriptor: Descriptor;
}

export function stageRefName(project: string, signature: string): string {
  return `stages/${project}:${signature}`;
}

export function finalRefName(project: string, imageName: string): string {
  return imageName ? `${project}/${imageName}:latest` : `${project}:latest`;
}

export class LocalStagesStorage {
  constructor(
    readonly store: ImageStore,
    readonly project: string,
  ) {}

  async get(signature: string): Promise<StoredImage | undefined> {
    const desc = await this.store.resolve(stageRefName(this.project, signature));
    if (!desc) return undefined;
    return readStoredImage(this.store, desc);
  }

  /**
   * What a stored stage recorded and its descriptor, without reading its manifest or config (a
   * no-op build looks up every stage but reads only the one it resumes from); open() reads it.
   */
  async getRecord(signature: string): Promise<{ descriptor: Descriptor; record: StoredStage; open(): Promise<StoredImage> } | undefined> {
    const desc = await this.store.resolve(stageRefName(this.project, signature));
    if (!desc) return undefined;
    return { descriptor: desc, record: recordOf(desc), open: () => readStoredImage(this.store, desc) };
  }

  /** The stored stage and what it recorded (state, inputs), or undefined. */
  async getStage(signature: string): Promise<{ image: StoredImage; record: StoredStage } | undefined> {
    const desc = await this.store.resolve(stageRefName(this.project, signature));
    if (!desc) return undefined;
    return { image: await readStoredImage(this.store, desc), record: recordOf(desc) };
  }

  async put(record: StageRecord, image: StoredImage): Promise<void> {
    await this.store.setRef(stageRefName(record.project, record.signature), image.descriptor, {
      [ANNOTATION.kind]: 'stage',
      [ANNOTATION.project]: record.project,
      [ANNOTATION.image]: record.imageName,
      [ANNOTATION.stage]: record.stage,
      [ANNOTATION.signature]: record.signature,
      [ANNOTATION.parent]: record.parent ?? '',
      [ANNOTATION.inputs]: JSON.stringify(record.inputs),
      [ANNOTATION.created]: record.created,
      ...(record.state && Object.keys(record.state).length > 0 ? { [ANNOTATION.state]: JSON.stringify(record.state) } : {}),
      ...(record.importChecksums && Object.keys(record.importChecksums).length > 0
        ? { [ANNOTATION.importChecksums]: JSON.stringify(record.importChecksums) }
        : {}),
    });
  }

  /** Every stored stage of this project (all projects with `allProjects`). */
  async list(allProjects = false): Promise<StoredStage[]> {
    const refs = await this.store.listRefs();
    const out: StoredStage[] = [];
    for (const { descriptor } of refs) {
      const a = descriptor.annotations ?? {};
      if (a[ANNOTATION.kind] !== 'stage') continue;
      if (!allProjects && a[ANNOTATION.project] !== this.project) continue;
      out.push(recordOf(descriptor));
    }
    return out;
  }

  /** Stored stages of the same image and stage, newest first: the candidates to explain a rebuild against. */
  async candidates(imageName: string, stage: string): Promise<StoredStage[]> {
    return (await this.list()).filter((s) => s.imageName === imageName && s.stage === stage).sort((a, b) => b.created.localeCompare(a.created));
  }
}

function parseJson(text: string | undefined): Record<string, unknown> {
  try {
    return JSON.parse(text ?? '{}') as Record<string, unknown>;
  } catch {
    return {}; // an unreadable record explains nothing but is still a stage
  }
}

function recordOf(descriptor: Descriptor): StoredStage {
  const a = descriptor.annotations ?? {};
  return {
    project: a[ANNOTATION.project] ?? '',
    imageName: a[ANNOTATION.image] ?? '',
    stage: a[ANNOTATION.stage] ?? '',
    signature: a[ANNOTATION.signature] ?? '',
    parent: a[ANNOTATION.parent] || null,
    inputs: parseJson(a[ANNOTATION.inputs]),
    created: a[ANNOTATION.created] ?? '',
    state: parseJson(a[ANNOTATION.state]),
    ...(a[ANNOTATION.importChecksums] ? { importChecksums: parseJson(a[ANNOTATION.importChecksums]) as Record<string, string> } : {}),
    descriptor,
  };
}
