// `plan` on every werf.yaml of the shared corpus, laid out as a project (a git repository) as the
// corpus test lays it out: exit 0 everywhere, except where loading the config already fails (the
// Dockerfile images tsbuild refuses by design, a config the corpus leaves invalid): the same error.
// Nothing here has network: base images are never pulled (`--pull never`; the one fromLatest base and
// the ansible toolchain are stand-ins in the store), and remote git repositories cannot be reached,
// so the images that need one are planned as "unknown until its git repository can be fetched".
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../config/index.js';
import { LayoutStore } from '../content/index.js';
import { ConfigError } from '../errors.js';
import { sha256 } from '../digest.js';
import { homePaths } from '../home.js';
import { MediaType, formatReference, parseReference, type ImageConfig, type ImageManifest } from '../oci/index.js';
import { RegistryClient } from '../registry/index.js';
import { DEFAULT_STAPEL_IMAGE } from '../stapel/index.js';
import { layOut, loadOptions, projects, repoDir } from '../../test/support/corpus-projects.js';
import { plan } from './plan.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-corpus-plan-'));
const home = homePaths(join(root, '.home'));
after(() => rmSync(root, { recursive: true, force: true }));

/** A one-layer image named `name` in the store (planning reads only its manifest digest). */
async function standIn(store: LayoutStore, name: string): Promise<void> {
  const tar = Buffer.alloc(1024);
  const layer = await store.writeBytes(gzipSync(tar));
  const config: ImageConfig = { architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } };
  const c = await store.writeJson(config);
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: c.info.digest, size: c.info.size },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }],
  };
  const m = await store.writeJson(manifest);
  await store.setRef(
    formatReference(parseReference(name)),
    { mediaType: MediaType.OciManifest, digest: m.info.digest, size: m.info.size },
    { 'dev.tsbuild.kind': 'base' },
  );
}

before(async () => {
  const store = new LayoutStore(home.store);
  await store.init();
  await standIn(store, DEFAULT_STAPEL_IMAGE);
  await standIn(store, 'prom/blackbox-exporter');
  // Every https remote resolves to a path that does not exist: fails at once, never the network.
  Object.assign(process.env, {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `url.file://${root}/no-network/.insteadOf`,
    GIT_CONFIG_VALUE_0: 'https://',
    GIT_TERMINAL_PROMPT: '0',
  });
});

/** "stageDependencies without instructions" warnings of the whole corpus (the other git warnings are
 * about paths, which the corpus — configs without their sources — cannot have). */
const noEffect: string[] = [];

describe('corpus: plan on every werf.yaml laid out as a project', () => {
  const committed = new Set<string>();
  for (const p of projects()) {
    test(`${p.repo} ${p.configPath}`, async () => {
      const options = loadOptions(root, p);
      layOut(root, p);
      const repo = repoDir(root, p);
      if (!committed.has(repo)) {
        const git = (...args: string[]): void =>
          void execFileSync('git', args, {
            cwd: repo,
            env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' },
          });
        git('init', '-q', '-b', 'main');
        git('add', '-A');
        git('commit', '-q', '-m', 'corpus');
        committed.add(repo);
      }
      // What loading refuses (Dockerfile images, a config the corpus leaves invalid), plan refuses alike.
      const refused = await loadConfig(options).then(
        () => undefined,
        (err: Error) => err,
      );
      const warnings: string[] = [];
      const registry = new RegistryClient();
      try {
        const result = await plan({ ...options, home, registry, pull: 'never', onEvent: (e) => void (e.type === 'warning' && warnings.push(e.message)) });
        assert.ok(result.images.length > 0);
        for (const w of warnings) {
          if (/^image "[^"]*": git clone of /.test(w)) continue; // the remote repositories (no network here)
          const m = /^(\S+):(\d+): image "[^"]*", git mapping \d+: /.exec(w);
          assert.ok(m, `a git mapping warning names its file and line: ${w}`);
          if (/has no effect/.test(w)) noEffect.push(`${p.repo} ${m[1]!.slice(repoDir(root, p).length + 1)}:${m[2]} ${w.slice(m[0].length)}`);
        }
        for (const img of result.images) {
          assert.ok(img.stages.length > 0, `${img.name} has stages`);
          for (const s of img.stages) {
            if (s.status === 'unknown')
              assert.match(
                s.reason ?? '',
                /^unknown until (image "[^"]+" is built|its git repository can be fetched|\S+ is pulled by a build)/,
                `${img.name} ${s.name}`,
              );
            else assert.equal(s.status, 'to-build', `${img.name} ${s.name}: nothing is built here`);
          }
        }
        assert.equal(refused, undefined, `loading failed but plan did not: ${refused?.message}`);
      } catch (err) {
        if (!refused) throw err;
        assert.ok(err instanceof ConfigError, String(err));
        assert.equal(err.message, refused.message);
      } finally {
        await registry.close();
      }
    });
  }
});

test('corpus: the stageDependencies that have no effect are the five the corpus really has', () => {
  const noInstructions = (stage: string): string =>
    `stageDependencies.${stage} is given but the image has no ${stage} instructions: it has no effect (add ${stage} commands or remove it)`;
  assert.deepEqual(noEffect.sort(), [
    `ANO-ID-AS-Center/hlf-karma werf.yaml:15 ${noInstructions('setup')}`,
    `Alignfig/alignfig werf.yaml:30 ${noInstructions('setup')}`,
    `aleksandr-podmoskovniy/ai-models images/controller/werf.inc.yaml:14 ${noInstructions('install')}`,
    `aleksandr-podmoskovniy/ai-models images/controller/werf.inc.yaml:9 ${noInstructions('install')}`,
    `aleksandr-podmoskovniy/ai-models images/dmcr/werf.inc.yaml:12 ${noInstructions('install')}`,
  ]);
});
