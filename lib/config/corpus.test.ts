// Every werf.yaml of the shared corpus, loaded as tsbuild loads it: the project laid out in a temp
// dir from INDEX.tsv paths (stand-ins for files the corpus lacks), rendered with real .Files, split,
// parsed and validated. Asserts image names and some stage instructions per project, or the clear
// error for what tsbuild rejects by design (Dockerfile images).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.js';
import { loadConfig, type UserStageName, type WerfConfig } from './index.js';

// shared/ sits beside the repository: dist/lib/config/ → four levels up is its parent.
const CORPUS = process.env.TSBUILD_CORPUS_DIR ?? fileURLToPath(new URL('../../../../shared/corpus/werf-configs', import.meta.url));

/** Every base image name the corpus refers to (`.Images.X`, `index $.Images "x/y"`). */
function baseImageNames(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(CORPUS)) {
    const text = readFileSync(`${CORPUS}/${file}`, 'utf8');
    for (const m of text.matchAll(/\.Images\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/index \$\.Images "([^"]+)"/g)) names.add(m[1]!);
    for (const m of text.matchAll(/(?:^|[\s"])((?:builder|base|tools|libs)\/[a-z0-9.-]*[a-z0-9])/gm)) names.add(m[1]!);
  }
  names.delete('REGISTRY_PATH');
  return [...names].sort();
}

/** base image map stand-in: REGISTRY_PATH plus a digest per name */
function imagesYaml(registry: string, digests: boolean): string {
  const lines = [`REGISTRY_PATH: "${registry}"`];
  baseImageNames().forEach((name, i) => {
    const digest = 'sha256:' + String(i).padStart(2, '0').repeat(32);
    lines.push(`${JSON.stringify(name)}: "${digests ? digest : `${name.toLowerCase()}@${digest}`}"`);
  });
  return lines.join('\n') + '\n';
}

const DECKHOUSE_IMAGES = imagesYaml('registry.example.com/base_images', true);

/** {{define}}s that live in files outside the corpus (the corpus files override them). */
const STAND_IN_DEFINES = `{{- define "alt packages proxy" }}
- echo "stand-in, configure alt packages proxy"
{{- end }}
{{- define "alt packages clean" }}
- echo "stand-in, clean alt packages"
{{- end }}
{{- define "pm packages install" }}
- echo "stand-in, install {{ index . 0 | join " " }} to {{ index . 1 }}"
{{- end }}
{{- define "vex mitigation" }}{{ end }}
{{- define "get_oss_version_by_id" }}1.0.0{{ end }}
{{- define "image-build.build" }}
{{ .BuildCommand }}
{{- end }}
{{- define "mount points for golang builds" }}
- from: tmp_dir
  to: /go/pkg
{{- end }}
`;

/** Data files per repository that the configs parse with fromYaml or iterate over. */
const STAND_INS: Record<string, Record<string, string>> = {
  'Horiodino/deckhouse': {
    'editions.yaml': `editions:
- name: CE
  modulesDir: modules
  versionMapFile: candi/version_map.yml
- name: EE
  modulesDir: ee/modules
  versionMapFile: ee/candi/version_map.yml
  terraformProviders: [openstack]
  excludeModules: [some-module]
`,
    'candi/version_map.yml': `k8s:\n  "1.25": {patch: 16}\n  "1.28": {patch: 9}\n`,
    'ee/candi/version_map.yml': `k8s:\n  "1.25": {patch: 16}\n  "1.28": {patch: 9}\n`,
    'candi/image_versions.yml': imagesYaml('registry.example.com/base_images/', false),
    'candi/terraform_versions.yml': `openstack:
  artifact: terraform-provider-openstack
  artifactBinary: terraform-provider-openstack
  namespace: terraform-provider-openstack
  type: openstack
  version: 1.54.1
  destinationBinary: terraform-provider-openstack_v1.54.1
`,
    'CHANGELOG/CHANGELOG-v1.0.yml': 'changes: []\n',
  },
  'deckhouse/virtualization': {
    'build/base-images/deckhouse_images.yml': DECKHOUSE_IMAGES,
    'build/base-images/container_factory_images.yml': `REGISTRY_PATH: "registry.example.com/container_factory"\ntools/jq: "sha256:7777777777777777777777777777777777777777777777777777777777777777"\n`,
    'build/base-images/base-images-pins.yml': 'fromContainerFactory: [tools/jq]\n',
    '.werf/defines/stand-ins.tmpl': STAND_IN_DEFINES,
    'build/components/versions.yml': 'firmware:\n  edk2: stable202411\ncore:\n  qemu: 9.2.0\n  libvirt: 10.9.0\n',
  },
  'deckhouse/sds-node-configurator': {
    'base_images.yml': DECKHOUSE_IMAGES,
    '.werf/defines/stand-ins.tmpl': STAND_IN_DEFINES + '{{- define "image mount points" }}{{ end }}\n',
    '.werf/consts.yaml': '{{- $_ := set . "MODULE_EDITION" "ce" }}\n',
    'oss.yaml': '- id: util_linux\n  version: 2.39.3\n',
  },
  'aleksandr-podmoskovniy/ai-models': {
    'build/base-images/deckhouse_images.yml': DECKHOUSE_IMAGES,
  },
  'izobretatel9/k8s-endpoints': {
    '.helm/values.yaml': 'blackbox:\n  image:\n    repository: prom/blackbox-exporter\n    tag: v0.24.0\n',
  },
};

/** Files the configs read that the template corpus test did not need (it served any missing file). */
function standInImage(nameLine: string): string {
  return `---\n${nameLine}\nfrom: alpine:3.20\nshell:\n  install:\n  - echo stand-in\n`;
}

/** deckhouse-module layout: every images/NAME/werf.inc.yaml rendered with tpl and a module context. */
const MODULE_IMAGES_STAGE = (module: string): string => `{{- range $path, $content := .Files.Glob "images/*/werf.inc.yaml" }}
{{- $ctx := dict "ImageName" ($path | dir | base) "ModuleName" "${module}" "ModulePath" "" "Images" $.Images "Files" $.Files "Env" $.Env "GOPROXY" $.GOPROXY "SOURCE_REPO" $.SOURCE_REPO "DistroPackagesProxy" $.DistroPackagesProxy }}
---
{{ tpl $content $ctx }}
{{- end }}
`;

const EXTRA_FILES: Record<string, Record<string, string>> = {
  'Fkuloff/registry-operator-module': {
    '.werf/stages/base-images.yaml': '{{- $_ := set . "Images" (dict "BASE_GOLANG_23_ALPINE" "golang:1.23-alpine" "BASE_DISTROLESS" "gcr.io/distroless/static") }}\n',
    '.werf/stages/images.yaml': MODULE_IMAGES_STAGE('registry-operator'),
  },
  'aleksandr-podmoskovniy/ai-models': {
    '.werf/stages/images.yaml': MODULE_IMAGES_STAGE('ai-models'),
    'images/distroless/werf.inc.yaml': standInImage('image: distroless'),
  },
  'deckhouse/virtualization': Object.fromEntries(
    ['distroless', 'libvirt', 'edk2', 'virt-artifact', 'go-hooks-artifact'].map((n) => [
      `images/${n}/werf.inc.yaml`,
      standInImage('image: {{ .ModuleNamePrefix }}{{ .ImageName }}\nfinal: false'),
    ]),
  ),
  'Horiodino/deckhouse': {
    // module images other images import or build on, found by the modules/*/images/*/werf.inc.yaml glob
    'modules/000-common/images/distroless/werf.inc.yaml': `---
image: {{ .ModuleName }}/{{ .ImageName }}
from: {{ .Images.BASE_ALPINE }}
shell:
  install:
  - echo distroless stand-in
`,
    'modules/007-registrypackages/images/d8-curl/werf.inc.yaml': standInImage('artifact: {{ .ModuleName }}/d8-curl-artifact-8-2-1'),
    'modules/040-terraform-manager/images/terraform-manager-base/werf.inc.yaml':
      standInImage('artifact: terraform') + standInImage('artifact: terraform-provider-openstack'),
    'modules/000-common/images/kubernetes/werf.inc.yaml': `{{- range $v := list "1-25-16" "1-28-9" }}
---
artifact: {{ $.ModuleName }}/kubernetes-artifact-{{ $v }}
from: {{ $.Images.BASE_GOLANG_21_ALPINE }}
shell:
  install:
  - echo build kubectl {{ $v }}
{{- end }}
`,
  },
};

/** Environment per repository for variables read without a default. */
const ENV: Record<string, Record<string, string>> = {
  'Horiodino/deckhouse': {
    CI_COMMIT_REF_NAME: 'v1.0',
    CI_COMMIT_TAG: 'v1.0.0',
    SOURCE_REPO: 'https://github.com',
    GOPROXY: 'https://proxy.golang.org',
  },
  'deckhouse/virtualization': { CI_JOB_TOKEN: 'token' },
  'deckhouse/prompp': { BAZEL_ARCH: 'x86_64', GO_ARCH: 'amd64' },
  'markovna76/wkhtmltopdf': { CI_PROJECT_PATH_SLUG: 'markovna76-wkhtmltopdf' },
  'flant/examples': { CHANNELS: 'stable%1.2.3 beta%1.3.0', RELEASES: '1.2%1.2.3', REVIEW_SHA: 'abc', ROOT_VERSION: '1.0' },
  'MITS1327/TRANSLATOR': { NAMESPACE: 'translator', ENVNAME: 'dev', CI_URL: 'https://example.com' },
};

interface Project {
  repo: string;
  /** path of werf.yaml inside the repository */
  configPath: string;
  /** every corpus file and stand-in of the repository, by repository path */
  files: Map<string, string>;
}

function projects(): Project[] {
  const rows = readFileSync(`${CORPUS}/INDEX.tsv`, 'utf8').trim().split('\n').slice(1);
  const byRepo = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const [file = '', repo = '', path = ''] = row.split('\t');
    if (!byRepo.has(repo)) {
      const empty = (EMPTY_STAND_INS[repo] ?? []).map((f) => [f, '# stand-in\n'] as const);
      byRepo.set(repo, new Map(Object.entries({ ...Object.fromEntries(empty), ...STAND_INS[repo], ...EXTRA_FILES[repo] })));
    }
    byRepo.get(repo)!.set(path, readFileSync(`${CORPUS}/${file}`, 'utf8'));
  }
  const out: Project[] = [];
  for (const [repo, files] of byRepo) {
    for (const path of files.keys()) {
      if (/(^|\/)werf\.ya?ml$/.test(path)) out.push({ repo, configPath: path, files });
    }
  }
  return out;
}

const root = mkdtempSync(join(tmpdir(), 'tsbuild-corpus-'));
after(() => rmSync(root, { recursive: true, force: true }));

/** Lays the repository out on disk once; returns the directory of the project's werf.yaml. */
const laidOut = new Map<string, string>();
function layOut(p: Project): string {
  let dir = laidOut.get(p.repo);
  if (!dir) {
    dir = join(root, p.repo.replace('/', '__'));
    for (const [path, text] of p.files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    laidOut.set(p.repo, dir);
  }
  return join(dir, dirname(p.configPath));
}

async function load(p: Project): Promise<WerfConfig> {
  return loadConfig({
    dir: layOut(p),
    env: ENV[p.repo] ?? {},
    werfEnv: 'EE',
    commit: { hash: '0123456789abcdef0123456789abcdef01234567', unix: 1704164645, human: '2024-01-02 03:04:05 +0000 UTC' },
  });
}

/** Files the configs read whose content does not matter here (snippets, shell rc files, helm values). */
const EMPTY_STAND_INS: Record<string, string[]> = {
  "Horiodino/deckhouse": ["deckhouse-controller/files/kubectl_wrapper.sh", "deckhouse-controller/files/inputrc", "deckhouse-controller/files/bashrc", "deckhouse-controller/files/vimrc.local", "tools/build_includes/modules-excluded-EE.yaml", "tools/build_includes/modules-with-exclude-EE.yaml", "tools/build_includes/candi-EE.yaml", "modules/values-default.yaml", "ee/modules/values-default.yaml", "modules/values-managed.yaml", "ee/modules/values-managed.yaml", "modules/values-minimal.yaml", "ee/modules/values-minimal.yaml", "tools/build_includes/modules-EE.yaml", "tools/build_includes/modules-with-dependencies-EE.yaml"],
  "deckhouse/virtualization": ["images/qemu/flags.tmpl", "images/virt-launcher/mount-points.yaml"],
  "deckhouse/sds-node-configurator": [".werf/bundle.yaml", ".werf/release.yaml"],
  "Hibiki08/dotplant2": [".werf/supervisord.conf"],
  "Fkuloff/registry-operator-module": [".werf/stages/images-digests.yaml", ".werf/stages/bundle.yaml", ".werf/stages/release.yaml"],
  "aleksandr-podmoskovniy/ai-models": ["build/components/versions.yml", ".werf/stages/images-digests.yaml", ".werf/stages/bundle.yaml", ".werf/stages/release.yaml"],
  "flant/examples": ["2020/01-dynamic-build/releases.yml", "2020/01-dynamic-build/.werf/nginx.conf"],
};

interface Expectation {
  /** every image and artifact name, in config order */
  images?: string[];
  /** some images: base and the first line of the first instruction of their first non-empty stage */
  samples?: Array<{ name: string; base: string; stage?: string; first?: string }>;
  /** a config tsbuild rejects: the error */
  error?: RegExp;
}

const EXPECTED: Record<string, Expectation> = {
  "Horiodino/deckhouse werf.yaml": {
    images: ["jq", "yq4-artifact", "yq-artifact", "semver-artifact", "tini-artifact", "common-base", "base-for-go", "dev-alt-artifact", "golangci-lint-artifact", "dev-prebuild", "tests-prebuild", "deckhouse-controller", "dhctl", "dev/install", "release-channel-version-prebuild", "release-channel-version", "cloud-provider-openstack/cloud-data-discoverer", "cloud-provider-openstack/cloud-data-discoverer-artifact", "keepalived/build-keepalived", "keepalived/python", "keepalived/keepalived", "common/check-kernel-version", "common/check-kernel-version-artifact", "common/distroless", "common/kubernetes-artifact-1-25-16", "common/kubernetes-artifact-1-28-9", "registrypackages/d8-curl-artifact-8-2-1", "terraform", "terraform-provider-openstack", "images-digests", "deckhouse-image-hash", "dev", "tests", "version-map-artifact", "e2e-terraform"],
    samples: [{"name": "jq", "base": "registry.example.com/base_images/base_alpine_dev@sha256:0101010101010101010101010101010101010101010101010101010101010101", "stage": "install", "first": "{\"shell\":\"cd /src\\nautoreconf -fi\\n./configure \\\\\\n  --prefi"}, {"name": "e2e-terraform", "base": "registry.example.com/base_images/base_ubuntu@sha256:4141414141414141414141414141414141414141414141414141414141414141", "stage": "beforeInstall", "first": "apt-get update"}],
  },
  "deckhouse/virtualization werf.yaml": {
    images: ["base/vex", "bounder", "bounder-cbuilder", "distroless", "edk2", "go-hooks-artifact", "libvirt", "qemu-src-artifact", "qemu", "virt-artifact", "virt-launcher", "virt-launcher-binaries", "virt-launcher-gobuilder", "virt-launcher-cbuilder", "images-digests", "bundle", "prepare-bundle", "release-channel-version"],
    samples: [{"name": "bounder-cbuilder", "base": "registry.example.com/base_images@sha256:5757575757575757575757575757575757575757575757575757575757575757", "stage": "beforeInstall", "first": "echo \"stand-in, configure alt packages proxy\""}, {"name": "release-channel-version", "base": "registry.example.com/base_images@sha256:6060606060606060606060606060606060606060606060606060606060606060", "stage": "install", "first": "echo  '{\"version\":\"dev\"}' > version.json"}],
  },
  "deckhouse/sds-node-configurator werf.yaml": {
    images: ["base/vex", "choose-edition", "agent-src-artifact", "agent-binaries-artifact", "agent-golang-artifact", "agent", "images-digests"],
    samples: [{"name": "base/vex", "base": "registry.example.com/base_images@sha256:5252525252525252525252525252525252525252525252525252525252525252", "stage": "install", "first": "pm install coreutils ca-certificates cosign=2.6.3 jq curl ba"}, {"name": "images-digests", "base": "registry.example.com/base_images@sha256:4949494949494949494949494949494949494949494949494949494949494949", "stage": "setup", "first": "env | grep MODULE_IMAGE_DIGEST | jq -Rn '"}],
  },
  "deckhouse/prompp werf.yaml": { error: /werf\.yaml:6:1: image "toolkit" is a Dockerfile image; tsbuild builds only stapel images/ },
  "Hibiki08/dotplant2 werf.yaml": {
    images: ["app"],
    samples: [{"name": "app", "base": "php:7.3-fpm", "stage": "beforeInstall", "first": "{\"name\":\"Add supervisord config\",\"copy\":{\"content\":\"# stand-"}],
  },
  "Ivinco/k8s-infra werf.yaml": {
    images: ["networkChecker", "build", "admission"],
    samples: [{"name": "build", "base": "golang:1.19-alpine", "stage": "install", "first": "cd /app"}],
  },
  "Ivinco/k8s-infra admission-controller/werf.yaml": {
    images: ["build", "admissionServer"],
    samples: [{"name": "build", "base": "golang:1.19-alpine", "stage": "install", "first": "cd /app"}],
  },
  "Ivinco/tenis werf.yaml": {
    images: ["backend", "frontend-build", "frontend", "mongodb"],
    samples: [{"name": "backend", "base": "python:alpine3.17", "stage": "install", "first": "cd /app"}, {"name": "frontend-build", "base": "node:16.13-alpine3.15", "stage": "install", "first": "cd /app"}],
  },
  "cmtt-ru/heyka-backend werf.yml": {
    images: ["backend"],
    samples: [{"name": "backend", "base": "node:15.14.0-alpine3.11", "stage": "beforeInstall", "first": "{\"name\":\"Install dependencies\",\"apk\":{\"name\":\"postgresql-cli"}],
  },
  "Nemmo/honest werf.yml": {
    images: ["app-builder", "app-test", "app"],
    samples: [{"name": "app-builder", "base": "node:lts", "stage": "install", "first": "{\"name\":\"Install dependencies\",\"shell\":\"yarn install --froze"}, {"name": "app", "base": "node:lts-alpine", "stage": "install", "first": "{\"name\":\"Install dependencies\",\"shell\":\"yarn install --froze"}],
  },
  "sabinich/docker-vpn-pptp werf.yml": {
    images: [""],
    samples: [{"name": "", "base": "alpine:latest", "stage": "beforeInstall", "first": "apk update --no-cache"}],
  },
  "ANO-ID-AS-Center/hlf-karma werf.yaml": {
    images: ["chaincode"],
    samples: [{"name": "chaincode", "base": "node:12.18.2-alpine", "stage": "beforeInstall", "first": "{\"name\":\"Install packages\",\"shell\":\"apk add --no-cache make "}],
  },
  "Alignfig/alignfig werf.yaml": {
    images: ["redis", "redis_exporter", "python_base", "python_api", "golang_builder", "golang_web"],
    samples: [{"name": "python_api", "base": "image python_base", "stage": "install", "first": "pip install -I -r /app/requirements.txt"}, {"name": "golang_builder", "base": "golang:1.18.2-alpine3.16", "stage": "beforeInstall", "first": "apk add --update make build-base"}],
  },
  "InzukiOrg/morrow.shop.front werf.yaml": {
    images: ["build_frontend", "frontend"],
    samples: [{"name": "build_frontend", "base": "node:20-alpine", "stage": "install", "first": "cd /app"}, {"name": "frontend", "base": "nginx:stable-alpine", "stage": "setup", "first": "rm -rf /usr/share/nginx/html/*"}],
  },
  "distorhead/debug-repo-with-remote-dependency werf.yaml": {
    images: ["x"],
    samples: [{"name": "x", "base": "ubuntu:20.04", "stage": "install", "first": "echo INSTALLING"}],
  },
  "markovna76/wkhtmltopdf werf.yaml": { error: /werf\.yaml:11:1: image "base" is a Dockerfile image; tsbuild builds only stapel images/ },
  "Fkuloff/registry-operator-module werf.yaml": { error: /images\/registry-operator\/werf\.inc\.yaml:25: \(rendered line 38\) duplicate image name "registry-operator\/registry-operator"/ },
  "aleksandr-podmoskovniy/ai-models werf.yaml": {
    images: ["builder/golang-bookworm-1.25", "builder/src", "controller-src-artifact", "controller-build-artifact", "controller", "controller-runtime", "node-cache-runtime", "distroless", "dmcr-src-artifact", "dmcr-build-artifact", "dmcr"],
    samples: [{"name": "controller-build-artifact", "base": "image builder/golang-bookworm-1.25", "stage": "install", "first": "export GOPROXY=$(cat /run/secrets/GOPROXY)"}, {"name": "dmcr-build-artifact", "base": "image builder/golang-bookworm-1.25", "stage": "setup", "first": "cd /src/images/dmcr"}],
  },
  "flant/examples 2019/10-remote-syslog/werf.yaml": {
    images: ["remote-syslog", "auditd-init"],
    samples: [{"name": "auditd-init", "base": "ubuntu:16.04", "stage": "install", "first": "{\"name\":\"Install wget\",\"apt\":{\"update_cache\":true,\"name\":\"wg"}],
  },
  "flant/examples 2020/01-dynamic-build/werf.yml": {
    images: ["doc-stable", "doc-beta", "doc-1.2", "doc-root", "doc-review", "werf-doc", "werf-dev"],
    samples: [{"name": "doc-stable", "base": "jekyll/builder:3", "stage": "install", "first": "{\"shell\":\"export PATH=/usr/jekyll/bin/:$PATH\\n\"}"}, {"name": "werf-dev", "base": "nginx:stable-alpine", "stage": "setup", "first": "{\"name\":\"Setup /etc/nginx/nginx.conf\",\"copy\":{\"content\":\"# s"}],
  },
  "flant/examples 2021/07-keycloak/werf.yaml": {
    images: ["openssl", "keycloak", "infinispan"],
    samples: [{"name": "openssl", "base": "alpine:3.12", "stage": "beforeInstall", "first": "{\"name\":\"Install packages\",\"apk\":{\"name\":[\"openssl\"]}}"}, {"name": "infinispan", "base": "infinispan/server:12.0", "stage": "setup", "first": "chown -R 185:root /opt/infinispan/server/lib/"}],
  },
  "flant/examples 2022/01-werf-local-dev/werf.yaml": {
    images: ["builder", "backend", "frontend", "mysql"],
    samples: [{"name": "builder", "base": "node:12-alpine", "stage": "install", "first": "cd /app"}, {"name": "backend", "base": "node:12-alpine", "stage": "beforeInstall", "first": "apk update"}],
  },
  "rarimo/rarimo-core werf.yaml": {
    images: ["builder", "service"],
    samples: [{"name": "builder", "base": "golang:1.20-alpine", "stage": "install", "first": "apk add git build-base"}, {"name": "service", "base": "alpine:3.9", "stage": "setup", "first": "apk add --no-cache ca-certificates"}],
  },
  "izobretatel9/k8s-endpoints werf.yaml": {
    images: ["blackbox"],
    samples: [],
  },
  "dmitrpopkov/deckhouse-custom-backup werf.yaml": { error: /werf\.yaml:8:1: image "hooks" is a Dockerfile image; tsbuild builds only stapel images/ },
  "MITS1327/TRANSLATOR werf.yaml": {
    images: ["translator-dev"],
    samples: [{"name": "translator-dev", "base": "node:20", "stage": "install", "first": "{\"name\":\"Disable docker hook for apt-cache deletion\",\"shell\""}],
  },
  "BuroRoll/consumer_sim_card werf.yaml": { error: /werf\.yaml:8:1: image "request-sim-card-validity-consumer" is a Dockerfile image; tsbuild builds only stapel images/ },
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
      assert.deepEqual(cfg.images.map((i) => i.name), expected.images);
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
