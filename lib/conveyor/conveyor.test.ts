// The conveyor without bwrap or overlayfs: fake sandbox and snapshotter, a memory store. Build and
// plan must agree (one resolveImage), imports plan from recorded checksums, a failure cancels the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../config/index.js';
import type { Digest } from '../digest.js';
import type { BuildEvent } from '../events.js';
import { layerSources, type StoredImage } from '../image/index.js';
import { MediaType, formatReference, parseReference, type ImageConfig, type ImageManifest } from '../oci/index.js';
import { DEFAULT_STAPEL_IMAGE } from '../stapel/index.js';
import { LocalStagesStorage, StagesStorage, finalRefName } from '../storage/index.js';
import { FakeSandbox, FakeSnapshotter, fakeLayer } from '../../test/support/fake-runtime.js';
import { MemoryStore } from '../../test/support/memory-store.js';
import type { BaseImages } from './base-image.js';
import { buildProject } from './build-project.js';
import { GitSources } from './git-sources.js';
import { buildOrder } from './image-conveyor.js';
import { planProject } from './plan-project.js';
import type { ImagePlan } from './resolve-image.js';
import { planLookup } from './stage-lookup.js';

async function storedImage(store: MemoryStore, files: Record<string, string>, env: string[] = []): Promise<StoredImage> {
  const layer = await fakeLayer(store, files);
  const config: ImageConfig = {
    architecture: 'amd64',
    os: 'linux',
    config: { Env: env },
    rootfs: { type: 'layers', diff_ids: [layer.diffId] },
    history: [{ created_by: 'base' }],
  };
  const c = await store.writeJson(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: c.info.digest, size: c.info.size },
    layers: [layer.descriptor],
  };
  const m = await store.writeJson(manifest);
  return { descriptor: { mediaType: MediaType.OciManifest, digest: m.info.digest, size: m.info.size }, manifest, config };
}

/** A project dir with werf.yaml, a memory store with a base image, fakes, and build/plan on them. */
async function setup(yaml: string) {
  const dir = await mkdtemp(join(tmpdir(), 'tsb-conveyor-'));
  await writeFile(join(dir, 'werf.yaml'), yaml);
  const store = new MemoryStore();
  const base = await storedImage(store, { '/etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n' }, ['PATH=/bin']);
  let latest = 'sha256:1111111111111111111111111111111111111111111111111111111111111111';
  const bases: BaseImages = {
    image: async () => base,
    latestDigest: async () => latest,
    manifestDigest: async () => base.descriptor.digest,
  };
  const events: BuildEvent[] = [];
  const snapshotter = new FakeSnapshotter(store, join(dir, '.snapshots'));
  const sandbox = new FakeSandbox();
  const env = async () => ({
    config: await loadConfig({ dir }),
    store,
    bases,
    git: new GitSources({ projectDir: dir, cacheDir: join(dir, '.git-cache'), dev: false }),
    cacheDir: join(dir, '.cache'),
    finalRefOf: (n: string) => finalRefName('p', n),
    onEvent: (e: BuildEvent) => events.push(e),
  });
  const local = new LocalStagesStorage(store, 'p');
  return {
    dir,
    store,
    events,
    snapshotter,
    sandbox,
    setLatest: (d: string) => (latest = d),
    write: (text: string) => writeFile(join(dir, 'werf.yaml'), text),
    async build(parallel = 2) {
      const e = await env();
      return buildProject(e, buildOrder(e.config), {
        sandbox,
        snapshotter,
        storage: new StagesStorage(local),
        dirs: { buildTmp: join(dir, '.build-tmp'), buildDirRoot: join(dir, '.build-dir'), projectDir: dir },
        tmpDir: dir,
        parallel,
        localRefOf: (n) => finalRefName('p', n),
      });
    },
    async plan(): Promise<ImagePlan[]> {
      const e = await env();
      return planProject(e, buildOrder(e.config), planLookup(local, []));
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

const statuses = (p: ImagePlan): string[] => [
  ...p.stages.map((s, i) => `${s.name}:${i <= p.resumeAt ? 'cached' : 'to-build'}`),
  ...(p.unknown?.stages ?? []).map((s) => `${s}:unknown`),
];

test('build runs the stages in conveyor order, and plan before and after agrees with it', async () => {
  const t = await setup(`project: p
configVersion: 1
---
image: app
from: base:1
shell:
  setup: [write /setup.txt s]
  install: [write /install.txt i]
  beforeInstall: [write /bi.txt b]
docker:
  ENV: {A: "1"}
`);
  try {
    const before = await t.plan();
    assert.deepEqual(statuses(before[0]!), ['from:to-build', 'beforeInstall:to-build', 'install:to-build', 'setup:to-build', 'dockerInstructions:to-build']);
    const built = (await t.build()).get('app')!;
    assert.deepEqual(
      built.report.stages.map((s) => `${s.name}:${s.status}`),
      ['from:built', 'beforeInstall:built', 'install:built', 'setup:built', 'dockerInstructions:built'],
    );
    assert.deepEqual(
      built.report.stages.map((s) => s.signature),
      before[0]!.stages.map((s) => s.signature),
      'plan and build compute the same signatures',
    );
    const after = await t.plan();
    assert.equal(after[0]!.resumeAt, 4);
    assert.deepEqual(
      after[0]!.stages.map((s) => s.signature),
      before[0]!.stages.map((s) => s.signature),
    );
    assert.equal(built.final.config.config?.Env?.includes('A=1'), true);
    assert.equal(t.snapshotter.active, 0, 'every snapshot removed');
  } finally {
    await t.cleanup();
  }
});

test('a changed command rebuilds from its stage on, with the reason; earlier stages are reused', async () => {
  const yaml = (setup: string) => `project: p
configVersion: 1
---
image: app
from: base:1
shell:
  install: [write /i i]
  setup: [${setup}]
`;
  const t = await setup(yaml('write /s one'));
  try {
    await t.build();
    await t.write(yaml('write /s two'));
    const plan = (await t.plan())[0]!;
    assert.deepEqual(statuses(plan), ['from:cached', 'install:cached', 'setup:to-build']);
    assert.equal(plan.stages[2]!.reason, 'setup: commands changed');
    t.events.length = 0;
    const built = (await t.build()).get('app')!;
    assert.deepEqual(
      built.report.stages.map((s) => `${s.name}:${s.status}`),
      ['from:cached', 'install:cached', 'setup:built'],
    );
    const start = t.events.find((e) => e.type === 'stage.start');
    assert.deepEqual(start && start.type === 'stage.start' ? [start.stage, start.reason] : [], ['setup', 'setup: commands changed']);
    assert.equal(built.report.stages[2]!.signature, plan.stages[2]!.signature);
  } finally {
    await t.cleanup();
  }
});

test('fromLatest: plan asks the base resolver for a digest only, and a moved tag rebuilds from `from`', async () => {
  const t = await setup(`project: p
configVersion: 1
---
image: app
from: base:1
fromLatest: true
shell:
  install: [write /i i]
`);
  try {
    await t.build();
    assert.deepEqual(statuses((await t.plan())[0]!), ['from:cached', 'install:cached']);
    t.setLatest('sha256:2222222222222222222222222222222222222222222222222222222222222222');
    const plan = (await t.plan())[0]!;
    assert.deepEqual(statuses(plan), ['from:to-build', 'install:to-build']);
    assert.match(plan.stages[0]!.reason ?? '', /latestDigest changed/);
  } finally {
    await t.cleanup();
  }
});

test('imports: unknown until the source is built, then planned from the recorded checksum without opening a layer', async () => {
  const t = await setup(`project: p
configVersion: 1
---
artifact: builder
from: base:1
shell:
  install: [write /out/app.bin binary]
---
image: app
from: base:1
shell:
  install: [write /i i]
  setup: [write /s s]
import:
- artifact: builder
  add: /out
  to: /srv
  after: install
---
image: downstream
fromImage: app
shell:
  install: [write /d d]
`);
  try {
    const before = await t.plan();
    assert.deepEqual(statuses(before[0]!), ['from:to-build', 'install:to-build']);
    assert.deepEqual(statuses(before[1]!), ['from:to-build', 'install:to-build', 'importsAfterInstall:unknown', 'setup:unknown']);
    assert.equal(before[1]!.unknown?.why, 'unknown until image "builder" is built');
    assert.deepEqual(statuses(before[2]!), ['from:unknown', 'install:unknown'], 'an image built on an unknown one is unknown too');
    const built = await t.build();
    const app = built.get('app')!;
    assert.deepEqual(
      app.report.stages.map((s) => s.name),
      ['from', 'install', 'importsAfterInstall', 'setup'],
    );
    // The checksum of what app imports was recorded on the builder's last stage when it was built.
    const builderLast = built.get('builder')!.report.stages.at(-1)!;
    const record = (await new LocalStagesStorage(t.store, 'p').getStage(builderLast.signature))!.record;
    assert.equal(Object.keys(record.importChecksums ?? {}).length, 1);
    await rm(join(t.dir, '.cache'), { recursive: true, force: true }); // no local checksum cache: the record alone must do
    const opened = t.snapshotter.opened.length;
    t.store.reads.length = 0;
    const after = await t.plan();
    for (const p of after) assert.equal(p.resumeAt, p.stages.length - 1, `${p.imageName} fully cached`);
    assert.deepEqual(
      after[1]!.stages.map((s) => s.signature),
      app.report.stages.map((s) => s.signature),
    );
    assert.equal(t.snapshotter.opened.length, opened);
    const layers = new Set([...t.store.blobs.keys()].filter((d) => t.store.blobs.get(d)!.toString().includes('"files"')));
    assert.deepEqual(
      t.store.reads.filter((d) => layers.has(d)),
      [],
      'planning reads no layer',
    );
  } finally {
    await t.cleanup();
  }
});

test('the first failure stops the build: the failing stage is reported, the others are cancelled', async () => {
  const t = await setup(`project: p
configVersion: 1
---
image: slow
from: base:1
shell:
  install: [hang]
---
image: broken
from: base:1
shell:
  install: [write /x x, fail 7]
---
image: after-broken
fromImage: broken
shell:
  install: [write /y y]
`);
  try {
    await assert.rejects(
      t.build(3),
      (err: Error & { code?: string; exitCode?: number }) => err.code === 'TSB_STAGE_FAILED' && err.exitCode === 7 && /fail 7/.test(err.message),
    );
    const kinds = t.events
      .filter((e) => e.type === 'stage.failed' || e.type === 'stage.cancelled' || e.type === 'image.cancelled')
      .map((e) => `${e.type} ${'image' in e ? e.image : ''}`);
    assert.deepEqual(kinds.sort(), ['image.cancelled after-broken', 'image.cancelled slow', 'stage.cancelled slow', 'stage.failed broken']);
    assert.equal(t.snapshotter.active, 0, 'every snapshot removed');
  } finally {
    await t.cleanup();
  }
});

test('secrets and read-only mounts are bound read-only in shell and ansible stages', async () => {
  const t = await setup(`project: p
configVersion: 1
---
image: sh
from: base:1
secrets:
- id: token
  value: s3cret
shell:
  install: [write /i i]
---
image: ans
from: base:1
secrets:
- id: token
  value: s3cret
ansible:
  install:
  - name: nothing
    debug: {msg: hi}
`);
  try {
    const toolchain = await storedImage(t.store, { '/stapel/bin/ansible-playbook': '#!' });
    await t.store.setRef(formatReference(parseReference(DEFAULT_STAPEL_IMAGE)), toolchain.descriptor);
    await t.build(1);
    assert.equal(t.sandbox.runs.length, 2);
    for (const run of t.sandbox.runs) {
      const secret = run.mounts.find((m) => m.target === '/run/secrets/token');
      assert.equal(secret?.readonly, true, `secret read-only in ${run.argv.join(' ')}`);
    }
  } finally {
    await t.cleanup();
  }
});

test('a layer missing locally is fetched from the next blob source when first opened', async () => {
  const t = await setup('project: p\nconfigVersion: 1\n---\nimage: a\nfrom: base:1\n');
  try {
    const remote = new MemoryStore();
    const image = await storedImage(remote, { '/f': 'x' });
    await t.store.writeJson(image.config);
    const asked: string[] = [];
    const fetcher = {
      name: 'remote',
      async fetchBlob(d: { digest: string }) {
        asked.push(d.digest);
        const b = remote.blobs.get(d.digest as Digest);
        if (!b) return false;
        await t.store.writeBytes(b);
        return true;
      },
    };
    const sources = layerSources(t.store, image, [fetcher]);
    assert.deepEqual(asked, [], 'nothing fetched before a layer is opened');
    assert.equal(await t.store.has(image.manifest.layers[0]!.digest as Digest), false);
    const chunks: Buffer[] = [];
    for await (const c of sources[0]!.open()) chunks.push(c as Buffer);
    assert.deepEqual(asked, [image.manifest.layers[0]!.digest]);
    assert.match(Buffer.concat(chunks).toString(), /"\/f":"x"/);
  } finally {
    await t.cleanup();
  }
});

test('an import from an external image: unknown until a build pulled it, then planned from the cached checksum', async () => {
  const t = await setup(`project: p
configVersion: 1
---
image: app
from: base:1
import:
- from: tools:2
  add: /etc
  to: /imported
  before: install
shell:
  install: [write /i i]
`);
  try {
    const before = (await t.plan())[0]!;
    assert.deepEqual(statuses(before), ['from:to-build', 'importsBeforeInstall:unknown', 'install:unknown']);
    assert.equal(before.unknown?.why, 'unknown until tools:2 is pulled by a build');
    const built = (await t.build()).get('app')!;
    assert.deepEqual(
      built.report.stages.map((s) => s.name),
      ['from', 'importsBeforeInstall', 'install'],
    );
    const after = (await t.plan())[0]!;
    assert.equal(after.resumeAt, 2);
    assert.deepEqual(
      after.stages.map((s) => s.signature),
      built.report.stages.map((s) => s.signature),
    );
  } finally {
    await t.cleanup();
  }
});
