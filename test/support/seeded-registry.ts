// The usual start of an e2e suite that builds from a registry: the test registry with the busybox
// base image pushed to it, started before the suite's tests and stopped after them.
import { after, before } from 'node:test';
import { seedBusyboxImage, type SeedOptions } from './base-image.js';
import { startRegistry, type RunningRegistry } from './registry.js';

export interface SeededRegistry {
  /** Set once the suite's before() hooks ran. */
  registry: RunningRegistry;
  /** The base image's reference in it. */
  base: string;
}

/** Registers the suite's before/after hooks (call it inside describe, before the tests). */
export function seededRegistry(seed: SeedOptions = {}): SeededRegistry {
  const s = {} as SeededRegistry;
  before(async () => {
    s.registry = await startRegistry();
    s.base = (await seedBusyboxImage(s.registry.host, seed)).ref;
  });
  after(async () => {
    await s.registry?.stop();
  });
  return s;
}
