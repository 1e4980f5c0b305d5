// Golden signatures of a fixed project: a change here must be deliberate (bump the signature
// version in lib/conveyor/signature.ts and update docs/signatures.md).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli, tempDir } from '../support/cli.js';
import { GitProject } from '../support/git-project.js';

const WERF_YAML = `project: golden
configVersion: 1
---
image: base
from: alpine:3.20
fromCacheVersion: "1"
mount:
- from: build_dir
  to: /var/cache/apk
shell:
  beforeInstall: [apk add --no-cache curl]
  installCacheVersion: "2"
---
image: app
fromImage: base
git:
- add: /src
  to: /app
  includePaths: ['**/*.js']
  stageDependencies:
    install: ['package.json']
shell:
  install: [cd /app && echo install]
  setup: [echo setup]
docker:
  ENV: {A: "1"}
  CMD: ["node", "/app/main.js"]
`;

const GOLDEN: Record<string, Record<string, string>> = {
  base: {
    from: 'b8ff5eb663e458b16d1b733f15528cdfe7da77c909cd5095c769cc382849ba5f',
    beforeInstall: 'ede6760887411201ca18ae51db7edbeb41333ac10da19baafa8c8cb0c5300755',
    install: '70a1818d57bfa5d82c205a889bdc070799b86a45e2dd2390b78f08870689de15',
  },
  app: {
    from: '29c46950c1259c3cd60bda0f1f0b83f757a168a012dac5d76abc1770cfdb899e',
    gitArchive: '42e2022f44f1152910bd2a26f9fb7b04c01847852dfe72be43248a62cb2868b8',
    install: '79862b4126417f40de07316e21a651754e16d611d1d8e519ee3d556a1d9279e4',
    setup: 'e4956d0643f0e5abbb1254046941c4ce3bc65d9baf168e1e9e1584e43a84ba1c',
    dockerInstructions: '3c7ed8ad2e730fafe6b08b4093c97ff1a8bef6d64c44dfbeccb1be7418c5724e',
  },
};

let home: { path: string; cleanup(): Promise<void> };
let work: { path: string; cleanup(): Promise<void> };
before(async () => {
  home = await tempDir('golden-home');
  work = await tempDir('golden-project');
  const repo = await GitProject.init(work.path);
  await repo.commit({ 'werf.yaml': WERF_YAML, 'src/main.js': 'main\n', 'src/package.json': '{}\n', 'src/lib/x.js': 'x\n' }, 'golden');
});
after(async () => {
  await home?.cleanup();
  await work?.cleanup();
});

test('the signatures of a fixed project are pinned', async () => {
  const res = await runCli(['plan', '--dir', work.path, '--log-format', 'json'], { home: home.path });
  assert.equal(res.code, 0, res.stderr);
  const plan = JSON.parse(res.stdout) as { images: Array<{ name: string; stages: Array<{ name: string; signature: string; status: string }> }> };
  const got = Object.fromEntries(plan.images.map((i) => [i.name, Object.fromEntries(i.stages.map((s) => [s.name, s.signature]))]));
  if (process.env.TSBUILD_PRINT_GOLDEN) console.log(JSON.stringify(got, null, 2));
  assert.deepEqual(got, GOLDEN);
  for (const i of plan.images) for (const s of i.stages) assert.equal(s.status, 'to-build');
});
