// tsbuild's own annotation keys, on index.json entries of the local layout and on stage manifests in
// registries. One owner so a key is spelled once.
export const TSBUILD_ANNOTATION = {
  /** What a stored image is: stage, final, base, stapel. */
  kind: 'dev.tsbuild.kind',
  project: 'dev.tsbuild.project',
  image: 'dev.tsbuild.image',
  stage: 'dev.tsbuild.stage',
  signature: 'dev.tsbuild.signature',
  parent: 'dev.tsbuild.parent',
  inputs: 'dev.tsbuild.inputs',
  created: 'dev.tsbuild.created',
  state: 'dev.tsbuild.state',
  /** Content checksums of what other images import from a stage (JSON, by import selection key). */
  importChecksums: 'dev.tsbuild.import-checksums',
  /** "false" on the stored result of an artifact or a `final: false` image (not published). */
  final: 'dev.tsbuild.final',
  /** "true" on the stored result of an artifact. */
  artifact: 'dev.tsbuild.artifact',
  /** The whole stage record (JSON) on a stage manifest pushed to a stages repository. */
  stageRecord: 'dev.tsbuild.stage-record',
} as const;
