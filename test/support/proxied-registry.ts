// The fixture of the registry fault tests: a real docker-registry seeded with the busybox image,
// a fault proxy in front of it, a client, the image's reference through the proxy and a work
// directory for stores. Registers the describe block's hooks: everything starts before its first
// test, the proxy's rule and request log are reset after each test, and everything stops at the end.
import { after, afterEach, before } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LayoutStore } from '../../lib/content/index.js';
import type { RegistryClient } from '../../lib/registry/index.js';
import { seedBusyboxImage, type BusyboxLayout, type SeedOptions } from './base-image.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import { startRegistry, type RunningRegistry, type StartRegistryOptions } from './registry.js';

export interface ProxiedRegistry {
  reg: RunningRegistry;
  proxy: FaultProxy;
  layout: BusyboxLayout;
  client: RegistryClient;
  /** The seeded image through the proxy: PROXY/library/busybox:latest. */
  ref: string;
  work: string;
  /** An empty store of its own in the work directory. */
  freshStore(): LayoutStore;
}

export interface ProxiedRegistryOptions {
  /** Prefix of the work directory in the system's temp dir. */
  prefix: string;
  /** The client every test shares (made after the registry starts). */
  client: () => RegistryClient;
  registry?: StartRegistryOptions;
  seed?: SeedOptions;
}

export function proxiedRegistry(options: ProxiedRegistryOptions): ProxiedRegistry {
  let stores = 0;
  // Filled in by the before hook; the tests read it only once that hook has run.
  const fx = {
    freshStore: () => new LayoutStore(join(fx.work, `store-${stores++}`)),
  } as ProxiedRegistry;
  before(async () => {
    fx.reg = await startRegistry(options.registry);
    fx.layout = (await seedBusyboxImage(fx.reg.host, options.seed)).layout;
    fx.proxy = await startFaultProxy(fx.reg.host);
    fx.ref = `${fx.proxy.host}/library/busybox:latest`;
    fx.client = options.client();
    fx.work = await mkdtemp(join(tmpdir(), options.prefix));
  });
  afterEach(() => {
    fx.proxy.setRule(undefined);
    fx.proxy.requests.length = 0;
  });
  after(async () => {
    await fx.client?.close();
    await fx.proxy?.stop();
    await fx.reg?.stop();
    if (fx.work) await rm(fx.work, { recursive: true, force: true });
  });
  return fx;
}
