// What a stage record names besides its parent: signatures of other stages found anywhere in its
// inputs (imports, dependencies, fromImage). gc and bundles keep those stages alive with the record.
export const SIGNATURE = /^[a-f0-9]{64}$/;

export function signaturesIn(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (SIGNATURE.test(value)) out.push(value);
  } else if (Array.isArray(value)) {
    for (const v of value) signaturesIn(v, out);
  } else if (value && typeof value === 'object') {
    for (const v of Object.values(value)) signaturesIn(v, out);
  }
  return out;
}
