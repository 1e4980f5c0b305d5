// The local store of a home, opened under a lease: for work that writes blobs before it names them
// (a pull, a recompression, an archive or bundle load), so a concurrent `stages gc` keeps them.
import { join } from 'node:path';
import type { HomePaths } from '../home.js';
import { acquireLease } from './leases.js';
import type { LayoutStore } from './layout-store.js';
import { openStore } from './open-store.js';

/** Runs `fn` with the home's store while a lease is held; the lease is released however `fn` ends. */
export async function withStoreLease<T>(home: HomePaths, fn: (store: LayoutStore) => Promise<T>): Promise<T> {
  // The lease and the store are made together: in an empty home both create directories and files,
  // and a pull waits for both before its first request.
  const [store, lease] = await Promise.allSettled([openStore(home), acquireLease(join(home.locks, 'leases'))]);
  if (store.status === 'rejected') {
    if (lease.status === 'fulfilled') await lease.value.release();
    throw store.reason;
  }
  if (lease.status === 'rejected') throw lease.reason;
  try {
    return await fn(store.value);
  } finally {
    await lease.value.release();
  }
}
