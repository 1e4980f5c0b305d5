// A git image in a stages repository (--repo): each git stage's signature depends on the commits its
// stored parent recorded, so a fresh runner used to ask the registry stage by stage. The image's
// last stage records the whole chain (signatures and states) and a chain tag keyed by the commits
// points at it: a fully cached git image costs one manifest request.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';
import { logOffset, requestsSince, type LoggedRequest } from '../support/access-log.js';
import { GitProject } from '../support/git-project.js';

describe('git image in a stages repository (--repo)', () => {
  let registry: RunningRegistry;
  let base: string;
  const dirs: Array<{ path: string; cleanup(): Promise<void> }> = [];
  let git: GitProject;
  const temp = async (prefix: string): Promise<string> => {
    const d = await tempDir(prefix);
    dirs.push(d);
    return d.path;
  };

  before(async () => {
    registry = await startRegistry();
    base = (await seedBusyboxImage(registry.host)).ref;
    git = await GitProject.init(join(await temp('chain-project'), 'repo'));
  });
  after(async () => {
    await registry?.stop();
    for (const d of dirs) await d.cleanup();
  });

  const yaml = (setup: string): string => `project: chained
configVersion: 1
---
image: app
from: ${base}
git:
- add: /src
  to: /app
  stageDependencies:
    install: [deps.txt]
    setup: ["*.sh"]
shell:
  install: [cat /app/deps.txt > /deps]
  setup: [${JSON.stringify(setup)}]
`;

  async function build(home: string): Promise<{ stages: Record<string, string>; reqs: LoggedRequest[] }> {
    const offset = await logOffset(registry);
    const reportPath = join(home, 'report.json');
    const res = await runCli(['build', '--dir', git.dir, '--repo', `${registry.host}/stages`, '--report-path', reportPath], { home });
    assert.equal(res.code, 0, res.stderr);
    const r = JSON.parse(await readFile(reportPath, 'utf8')) as { images: Array<{ stages: Array<{ name: string; status: string }> }> };
    const reqs = (await requestsSince(registry, offset)).filter((q) => q.uri.startsWith('/v2/stages/'));
    return { stages: Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status])), reqs };
  }

  const manifestGets = (reqs: LoggedRequest[]): LoggedRequest[] =>
    reqs.filter((q) => q.uri.includes('/manifests/') && (q.method === 'GET' || q.method === 'HEAD'));

  test('a fresh runner resolves a fully cached git image with one manifest request; a new commit gets its own chain', async () => {
    await git.commit({ 'werf.yaml': yaml('cat /app/run.sh > /setup'), 'src/deps.txt': 'a=1\n', 'src/run.sh': 'echo v1\n', 'src/other.txt': 'x\n' });
    const a = await build(await temp('runner-a'));
    assert.ok(
      Object.values(a.stages).every((s) => s === 'built'),
      JSON.stringify(a.stages),
    );
    assert.ok(Object.keys(a.stages).length >= 4, JSON.stringify(a.stages));
    assert.ok(
      a.reqs.some((q) => q.method === 'PUT' && /\/manifests\/chain-[0-9a-f]{64}$/.test(q.uri)),
      'runner A tags the chain',
    );

    const b = await build(await temp('runner-b'));
    assert.ok(
      Object.values(b.stages).every((s) => s === 'cached'),
      JSON.stringify(b.stages),
    );
    assert.equal(manifestGets(b.reqs).length, 1, JSON.stringify(b.reqs));
    assert.ok(b.reqs.filter((q) => q.uri.includes('/blobs/')).length <= 1, `only the config blob: ${JSON.stringify(b.reqs)}`);
    assert.ok(
      b.reqs.every((q) => q.method === 'GET' || q.method === 'HEAD'),
      'nothing written',
    );

    // A commit touching a setup dependency: runner C rebuilds setup, the chain tag of the new commits
    // is published, and a fresh runner D is again one manifest request.
    await git.commit({ 'src/run.sh': 'echo v2\n' });
    const c = await build(await temp('runner-c'));
    assert.equal(c.stages.setup, 'built', JSON.stringify(c.stages));
    assert.equal(c.stages.install, 'cached', JSON.stringify(c.stages));
    const d = await build(await temp('runner-d'));
    assert.ok(
      Object.values(d.stages).every((s) => s === 'cached'),
      JSON.stringify(d.stages),
    );
    assert.equal(manifestGets(d.reqs).length, 1, JSON.stringify(d.reqs));
  });

  test('a chain tag that no longer fits (the config changed at the same commit) is checked, not trusted', async () => {
    // werf.yaml is outside the mapping: changed without a commit, the commits (and the chain key) stay.
    await git.write({ 'werf.yaml': yaml('cat /app/run.sh > /setup2') });
    const e = await build(await temp('runner-e'));
    assert.equal(e.stages.setup, 'built', JSON.stringify(e.stages));
    assert.ok(
      e.reqs.some((q) => q.method === 'GET' && /\/manifests\/chain-/.test(q.uri)),
      'the chain was read',
    );
    assert.equal(e.stages.install, 'cached', JSON.stringify(e.stages));
    const f = await build(await temp('runner-f'));
    assert.ok(
      Object.values(f.stages).every((s) => s === 'cached'),
      JSON.stringify(f.stages),
    );
    assert.equal(manifestGets(f.reqs).length, 1, JSON.stringify(f.reqs));
  });
});
