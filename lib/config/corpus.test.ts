// Every werf.yaml of the shared corpus, loaded as tsbuild loads it: the project laid out in a temp
// dir from INDEX.tsv paths (stand-ins for files the corpus lacks), rendered with real .Files, split,
// parsed and validated. Asserts image names and some stage instructions per project, or the clear
// error for what tsbuild rejects by design (Dockerfile images).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ConfigError } from '../errors.js';
import { loadConfig, type UserStageName, type WerfConfig } from './index.js';
import { loadOptions, projects, type Project } from '../../test/support/corpus-projects.js';

const root = mkdtempSync(join(tmpdir(), 'tsbuild-corpus-'));
after(() => rmSync(root, { recursive: true, force: true }));

async function load(p: Project): Promise<WerfConfig> {
  return loadConfig(loadOptions(root, p));
}

interface Expectation {
  /** every image and artifact name, in config order */
  images?: string[];
  /** some images: base and the first line of the first instruction of their first non-empty stage */
  samples?: Array<{ name: string; base: string; stage?: string; first?: string }>;
  /** a config tsbuild rejects: the error */
  error?: RegExp;
}

const EXPECTED: Record<string, Expectation> = {
  'Horiodino/deckhouse werf.yaml': {
    images: [
      'jq',
      'yq4-artifact',
      'yq-artifact',
      'semver-artifact',
      'tini-artifact',
      'common-base',
      'base-for-go',
      'dev-alt-artifact',
      'golangci-lint-artifact',
      'dev-prebuild',
      'tests-prebuild',
      'deckhouse-controller',
      'dhctl',
      'dev/install',
      'release-channel-version-prebuild',
      'release-channel-version',
      'cloud-provider-openstack/cloud-data-discoverer',
      'cloud-provider-openstack/cloud-data-discoverer-artifact',
      'keepalived/build-keepalived',
      'keepalived/python',
      'keepalived/keepalived',
      'common/check-kernel-version',
      'common/check-kernel-version-artifact',
      'common/distroless',
      'common/kubernetes-artifact-1-25-16',
      'common/kubernetes-artifact-1-28-9',
      'registrypackages/d8-curl-artifact-8-2-1',
      'terraform',
      'terraform-provider-openstack',
      'images-digests',
      'deckhouse-image-hash',
      'dev',
      'tests',
      'version-map-artifact',
      'e2e-terraform',
    ],
    samples: [
      {
        name: 'jq',
        base: 'registry.example.com/base_images/base_alpine_dev@sha256:0101010101010101010101010101010101010101010101010101010101010101',
        stage: 'install',
        first: '{"shell":"cd /src\\nautoreconf -fi\\n./configure \\\\\\n  --prefi',
      },
      {
        name: 'e2e-terraform',
        base: 'registry.example.com/base_images/base_ubuntu@sha256:4141414141414141414141414141414141414141414141414141414141414141',
        stage: 'beforeInstall',
        first: 'apt-get update',
      },
    ],
  },
  'deckhouse/virtualization werf.yaml': {
    images: [
      'base/vex',
      'bounder',
      'bounder-cbuilder',
      'distroless',
      'edk2',
      'go-hooks-artifact',
      'libvirt',
      'qemu-src-artifact',
      'qemu',
      'virt-artifact',
      'virt-launcher',
      'virt-launcher-binaries',
      'virt-launcher-gobuilder',
      'virt-launcher-cbuilder',
      'images-digests',
      'bundle',
      'prepare-bundle',
      'release-channel-version',
    ],
    samples: [
      {
        name: 'bounder-cbuilder',
        base: 'registry.example.com/base_images@sha256:5757575757575757575757575757575757575757575757575757575757575757',
        stage: 'beforeInstall',
        first: 'echo "stand-in, configure alt packages proxy"',
      },
      {
        name: 'release-channel-version',
        base: 'registry.example.com/base_images@sha256:6060606060606060606060606060606060606060606060606060606060606060',
        stage: 'install',
        first: 'echo  \'{"version":"dev"}\' > version.json',
      },
    ],
  },
  'deckhouse/sds-node-configurator werf.yaml': {
    images: ['base/vex', 'choose-edition', 'agent-src-artifact', 'agent-binaries-artifact', 'agent-golang-artifact', 'agent', 'images-digests'],
    samples: [
      {
        name: 'base/vex',
        base: 'registry.example.com/base_images@sha256:5252525252525252525252525252525252525252525252525252525252525252',
        stage: 'install',
        first: 'pm install coreutils ca-certificates cosign=2.6.3 jq curl ba',
      },
      {
        name: 'images-digests',
        base: 'registry.example.com/base_images@sha256:4949494949494949494949494949494949494949494949494949494949494949',
        stage: 'setup',
        first: "env | grep MODULE_IMAGE_DIGEST | jq -Rn '",
      },
    ],
  },
  'deckhouse/prompp werf.yaml': { error: /werf\.yaml:6:1: image "toolkit" is a Dockerfile image; tsbuild builds only stapel images/ },
  'Hibiki08/dotplant2 werf.yaml': {
    images: ['app'],
    samples: [{ name: 'app', base: 'php:7.3-fpm', stage: 'beforeInstall', first: '{"name":"Add supervisord config","copy":{"content":"# stand-' }],
  },
  'Ivinco/k8s-infra werf.yaml': {
    images: ['networkChecker', 'build', 'admission'],
    samples: [{ name: 'build', base: 'golang:1.19-alpine', stage: 'install', first: 'cd /app' }],
  },
  'Ivinco/k8s-infra admission-controller/werf.yaml': {
    images: ['build', 'admissionServer'],
    samples: [{ name: 'build', base: 'golang:1.19-alpine', stage: 'install', first: 'cd /app' }],
  },
  'Ivinco/tenis werf.yaml': {
    images: ['backend', 'frontend-build', 'frontend', 'mongodb'],
    samples: [
      { name: 'backend', base: 'python:alpine3.17', stage: 'install', first: 'cd /app' },
      { name: 'frontend-build', base: 'node:16.13-alpine3.15', stage: 'install', first: 'cd /app' },
    ],
  },
  'cmtt-ru/heyka-backend werf.yml': {
    images: ['backend'],
    samples: [
      { name: 'backend', base: 'node:15.14.0-alpine3.11', stage: 'beforeInstall', first: '{"name":"Install dependencies","apk":{"name":"postgresql-cli' },
    ],
  },
  'Nemmo/honest werf.yml': {
    images: ['app-builder', 'app-test', 'app'],
    samples: [
      { name: 'app-builder', base: 'node:lts', stage: 'install', first: '{"name":"Install dependencies","shell":"yarn install --froze' },
      { name: 'app', base: 'node:lts-alpine', stage: 'install', first: '{"name":"Install dependencies","shell":"yarn install --froze' },
    ],
  },
  'sabinich/docker-vpn-pptp werf.yml': {
    images: [''],
    samples: [{ name: '', base: 'alpine:latest', stage: 'beforeInstall', first: 'apk update --no-cache' }],
  },
  'ANO-ID-AS-Center/hlf-karma werf.yaml': {
    images: ['chaincode'],
    samples: [
      { name: 'chaincode', base: 'node:12.18.2-alpine', stage: 'beforeInstall', first: '{"name":"Install packages","shell":"apk add --no-cache make ' },
    ],
  },
  'Alignfig/alignfig werf.yaml': {
    images: ['redis', 'redis_exporter', 'python_base', 'python_api', 'golang_builder', 'golang_web'],
    samples: [
      { name: 'python_api', base: 'image python_base', stage: 'install', first: 'pip install -I -r /app/requirements.txt' },
      { name: 'golang_builder', base: 'golang:1.18.2-alpine3.16', stage: 'beforeInstall', first: 'apk add --update make build-base' },
    ],
  },
  'InzukiOrg/morrow.shop.front werf.yaml': {
    images: ['build_frontend', 'frontend'],
    samples: [
      { name: 'build_frontend', base: 'node:20-alpine', stage: 'install', first: 'cd /app' },
      { name: 'frontend', base: 'nginx:stable-alpine', stage: 'setup', first: 'rm -rf /usr/share/nginx/html/*' },
    ],
  },
  'distorhead/debug-repo-with-remote-dependency werf.yaml': {
    images: ['x'],
    samples: [{ name: 'x', base: 'ubuntu:20.04', stage: 'install', first: 'echo INSTALLING' }],
  },
  'markovna76/wkhtmltopdf werf.yaml': { error: /werf\.yaml:11:1: image "base" is a Dockerfile image; tsbuild builds only stapel images/ },
  'Fkuloff/registry-operator-module werf.yaml': {
    error: /images\/registry-operator\/werf\.inc\.yaml:25: \(rendered line 38\) duplicate image name "registry-operator\/registry-operator"/,
  },
  'aleksandr-podmoskovniy/ai-models werf.yaml': {
    images: [
      'builder/golang-bookworm-1.25',
      'builder/src',
      'controller-src-artifact',
      'controller-build-artifact',
      'controller',
      'controller-runtime',
      'node-cache-runtime',
      'distroless',
      'dmcr-src-artifact',
      'dmcr-build-artifact',
      'dmcr',
    ],
    samples: [
      { name: 'controller-build-artifact', base: 'image builder/golang-bookworm-1.25', stage: 'install', first: 'export GOPROXY=$(cat /run/secrets/GOPROXY)' },
      { name: 'dmcr-build-artifact', base: 'image builder/golang-bookworm-1.25', stage: 'setup', first: 'cd /src/images/dmcr' },
    ],
  },
  'flant/examples 2019/10-remote-syslog/werf.yaml': {
    images: ['remote-syslog', 'auditd-init'],
    samples: [{ name: 'auditd-init', base: 'ubuntu:16.04', stage: 'install', first: '{"name":"Install wget","apt":{"update_cache":true,"name":"wg' }],
  },
  'flant/examples 2020/01-dynamic-build/werf.yml': {
    images: ['doc-stable', 'doc-beta', 'doc-1.2', 'doc-root', 'doc-review', 'werf-doc', 'werf-dev'],
    samples: [
      { name: 'doc-stable', base: 'jekyll/builder:3', stage: 'install', first: '{"shell":"export PATH=/usr/jekyll/bin/:$PATH\\n"}' },
      { name: 'werf-dev', base: 'nginx:stable-alpine', stage: 'setup', first: '{"name":"Setup /etc/nginx/nginx.conf","copy":{"content":"# s' },
    ],
  },
  'flant/examples 2021/07-keycloak/werf.yaml': {
    images: ['openssl', 'keycloak', 'infinispan'],
    samples: [
      { name: 'openssl', base: 'alpine:3.12', stage: 'beforeInstall', first: '{"name":"Install packages","apk":{"name":["openssl"]}}' },
      { name: 'infinispan', base: 'infinispan/server:12.0', stage: 'setup', first: 'chown -R 185:root /opt/infinispan/server/lib/' },
    ],
  },
  'flant/examples 2022/01-werf-local-dev/werf.yaml': {
    images: ['builder', 'backend', 'frontend', 'mysql'],
    samples: [
      { name: 'builder', base: 'node:12-alpine', stage: 'install', first: 'cd /app' },
      { name: 'backend', base: 'node:12-alpine', stage: 'beforeInstall', first: 'apk update' },
    ],
  },
  'rarimo/rarimo-core werf.yaml': {
    images: ['builder', 'service'],
    samples: [
      { name: 'builder', base: 'golang:1.20-alpine', stage: 'install', first: 'apk add git build-base' },
      { name: 'service', base: 'alpine:3.9', stage: 'setup', first: 'apk add --no-cache ca-certificates' },
    ],
  },
  'izobretatel9/k8s-endpoints werf.yaml': {
    images: ['blackbox'],
    samples: [],
  },
  'dmitrpopkov/deckhouse-custom-backup werf.yaml': { error: /werf\.yaml:8:1: image "hooks" is a Dockerfile image; tsbuild builds only stapel images/ },
  'MITS1327/TRANSLATOR werf.yaml': {
    images: ['translator-dev'],
    samples: [{ name: 'translator-dev', base: 'node:20', stage: 'install', first: '{"name":"Disable docker hook for apt-cache deletion","shell"' }],
  },
  'BuroRoll/consumer_sim_card werf.yaml': {
    error: /werf\.yaml:8:1: image "request-sim-card-validity-consumer" is a Dockerfile image; tsbuild builds only stapel images/,
  },
};

/** The first line of a stage instruction (ansible tasks as JSON), as the table records it. */
function firstLine(v: unknown): string {
  return (typeof v === 'string' ? v.split('\n')[0]! : JSON.stringify(v)).slice(0, 60);
}

describe('corpus: every werf.yaml renders and validates', () => {
  for (const p of projects()) {
    const key = `${p.repo} ${p.configPath}`;
    test(key, async () => {
      const expected = EXPECTED[key];
      assert.ok(expected, `no expectation for ${key}: a new corpus config?`);
      if (expected.error) {
        await assert.rejects(load(p), (err: unknown) => {
          assert.ok(err instanceof ConfigError, String(err));
          assert.match(err.message, expected.error!);
          return true;
        });
        return;
      }
      const cfg = await load(p);
      assert.deepEqual(
        cfg.images.map((i) => i.name),
        expected.images,
      );
      assert.ok(!cfg.rendered.includes('<no value>'), 'a stand-in or env var is missing');
      for (const sample of expected.samples ?? []) {
        const img = cfg.images.find((i) => i.name === sample.name);
        assert.ok(img, sample.name);
        assert.equal(img.from ?? `image ${img.fromImage ?? img.fromArtifact}`, sample.base, `${sample.name} base`);
        if (sample.stage) {
          const stage = img.instructions!.stages[sample.stage as UserStageName];
          assert.equal(firstLine(stage[0]), sample.first, `${sample.name} ${sample.stage}`);
        }
      }
    });
  }
});
