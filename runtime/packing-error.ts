// Errors while a snapshot is packed into a layer, said with which snapshot and where: "ENOSPC … write"
// alone does not tell the user which file system filled up.
import { TsbuildError, noSpaceError } from '../lib/errors.js';

export function packingError(err: unknown, key: string, from: string): unknown {
  if (err instanceof TsbuildError && err.code === 'TSB_NO_SPACE') {
    return new TsbuildError('TSB_NO_SPACE', `packing the layer of ${key} (from ${from}): ${err.message}`, {
      ...(err.hint ? { hint: err.hint } : {}),
      cause: err,
    });
  }
  return noSpaceError(err, `packing the layer of ${key} from ${from}`);
}
