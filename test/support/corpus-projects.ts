// The shared werf.yaml corpus laid out as projects: each repository's corpus files at their paths
// (INDEX.tsv), plus stand-ins for files the corpus lacks, in a directory of the caller's choosing.
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadOptions } from '../../lib/config/index.js';

// The corpus is kept in the repository (test/fixtures/werf-corpus, a verbatim copy of the team's
// shared corpus) so that a clone anywhere runs it; TSBUILD_CORPUS_DIR points at another copy.
// dist/test/support/ → three levels up is the repository.
const CORPUS = process.env.TSBUILD_CORPUS_DIR ?? fileURLToPath(new URL('../../../test/fixtures/werf-corpus/werf-configs', import.meta.url));

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
    '.werf/stages/base-images.yaml':
      '{{- $_ := set . "Images" (dict "BASE_GOLANG_23_ALPINE" "golang:1.23-alpine" "BASE_DISTROLESS" "gcr.io/distroless/static") }}\n',
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

export interface Project {
  repo: string;
  /** path of werf.yaml inside the repository */
  configPath: string;
  /** every corpus file and stand-in of the repository, by repository path */
  files: Map<string, string>;
}

export function projects(): Project[] {
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

/** Lays the repository out under `root` once; returns the directory of the project's werf.yaml. */
const laidOut = new Map<string, string>();
export function layOut(root: string, p: Project): string {
  let dir = laidOut.get(`${root}\0${p.repo}`);
  if (!dir) {
    dir = join(root, p.repo.replace('/', '__'));
    for (const [path, text] of p.files) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    laidOut.set(`${root}\0${p.repo}`, dir);
  }
  return join(dir, dirname(p.configPath));
}

/** The repository's directory under `root` (after layOut). */
export function repoDir(root: string, p: Project): string {
  return join(root, p.repo.replace('/', '__'));
}

/** How the corpus test loads a project: its env, the EE edition, a fixed commit. */
export function loadOptions(root: string, p: Project): LoadOptions {
  return {
    dir: layOut(root, p),
    env: ENV[p.repo] ?? {},
    werfEnv: 'EE',
    commit: { hash: '0123456789abcdef0123456789abcdef01234567', unix: 1704164645, human: '2024-01-02 03:04:05 +0000 UTC' },
  };
}

/** Files the configs read whose content does not matter here (snippets, shell rc files, helm values). */
const EMPTY_STAND_INS: Record<string, string[]> = {
  'Horiodino/deckhouse': [
    'deckhouse-controller/files/kubectl_wrapper.sh',
    'deckhouse-controller/files/inputrc',
    'deckhouse-controller/files/bashrc',
    'deckhouse-controller/files/vimrc.local',
    'tools/build_includes/modules-excluded-EE.yaml',
    'tools/build_includes/modules-with-exclude-EE.yaml',
    'tools/build_includes/candi-EE.yaml',
    'modules/values-default.yaml',
    'ee/modules/values-default.yaml',
    'modules/values-managed.yaml',
    'ee/modules/values-managed.yaml',
    'modules/values-minimal.yaml',
    'ee/modules/values-minimal.yaml',
    'tools/build_includes/modules-EE.yaml',
    'tools/build_includes/modules-with-dependencies-EE.yaml',
  ],
  'deckhouse/virtualization': ['images/qemu/flags.tmpl', 'images/virt-launcher/mount-points.yaml'],
  'deckhouse/sds-node-configurator': ['.werf/bundle.yaml', '.werf/release.yaml'],
  'Hibiki08/dotplant2': ['.werf/supervisord.conf'],
  'Fkuloff/registry-operator-module': ['.werf/stages/images-digests.yaml', '.werf/stages/bundle.yaml', '.werf/stages/release.yaml'],
  'aleksandr-podmoskovniy/ai-models': [
    'build/components/versions.yml',
    '.werf/stages/images-digests.yaml',
    '.werf/stages/bundle.yaml',
    '.werf/stages/release.yaml',
  ],
  'flant/examples': ['2020/01-dynamic-build/releases.yml', '2020/01-dynamic-build/.werf/nginx.conf'],
};
