// The one place that hashes a stage's input record into its signature (DESIGN.md "Model, not bytes").
// signature = sha256(canonical JSON of {v, stage, parent, inputs}); see docs/signatures.md.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../internal/canonical-json.js';

export const SIGNATURE_VERSION = 'tsbuild.stage/1';

export interface SignatureRecord {
  v: typeof SIGNATURE_VERSION;
  stage: string;
  /** Signature of the previous non-empty stage of the same image; null for `from`. */
  parent: string | null;
  inputs: Record<string, unknown>;
}

export function computeSignature(stage: string, parent: string | null, inputs: Record<string, unknown>): string {
  const record: SignatureRecord = { v: SIGNATURE_VERSION, stage, parent, inputs };
  return createHash('sha256').update(canonicalJson(record)).digest('hex');
}

export function shortSignature(sig: string): string {
  return sig.slice(0, 12);
}
