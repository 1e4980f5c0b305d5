// Small pieces every command shares: the registry client and Ctrl-C handling.
import { RegistryClient } from '../lib/registry/index.js';

export function registryClient(insecureRegistries: string[] = []): RegistryClient {
  return new RegistryClient({ insecureRegistries });
}

/** Run `fn` with a signal that aborts on SIGINT/SIGTERM, so sandboxes are killed and mounts removed. */
export async function withAbort<T>(fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const onSignal = (): void => ac.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    return await fn(ac.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
