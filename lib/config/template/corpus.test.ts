// Renders every top-level werf.yaml of the shared corpus with in-memory .Files: the project's
// corpus files at their repository paths, explicit stand-ins for data files the configs read,
// and a comment for any other file (werf would read it from git).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TemplateSet, type TemplateFiles } from './index.js';

// shared/ sits beside the repository (dist/lib/config/template/ → five levels up is its parent).
const CORPUS = process.env.TSBUILD_CORPUS_DIR ?? fileURLToPath(new URL('../../../../../shared/corpus/werf-configs', import.meta.url));

/** Every base image name the corpus refers to (`.Images.X`, `index $.Images "x/y"`). */
function baseImageNames(): string[] {
  const names = new Set<string>();
  for (const file of readdirSync(CORPUS)) {
    const text = readFileSync(`${CORPUS}/${file}`, 'utf8');
    for (const m of text.matchAll(/\.Images\.([A-Z][A-Z0-9_]*)/g)) names.add(m[1]!);
    for (const m of text.matchAll(/index \$\.Images "([^"]+)"/g)) names.add(m[1]!);
    for (const m of text.matchAll(/"((?:builder|base|tools)\/[a-z0-9.-]+)"/g)) names.add(m[1]!);
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
- echo "stand-in: configure alt packages proxy"
{{- end }}
{{- define "alt packages clean" }}
- echo "stand-in: clean alt packages"
{{- end }}
{{- define "pm packages install" }}
- echo "stand-in: install {{ index . 0 | join " " }} to {{ index . 1 }}"
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
  'Fkuloff/registry-operator-module': {
    '.werf/stages/base-images.yaml': '{{- $_ := set . "Images" (dict "builder/alpine" "alpine:3.20") }}\n',
  },
  'izobretatel9/k8s-endpoints': {
    '.helm/values.yaml': 'blackbox:\n  image:\n    repository: prom/blackbox-exporter\n    tag: v0.24.0\n',
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

function globToRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      re += '.*';
      i++;
      if (pattern[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '{') re += '(?:';
    else if (c === '}') re += ')';
    else if (c === ',') re += '|';
    else re += c.replace(/[.+^$()|[\]\\]/g, '\\$&');
  }
  return new RegExp('^' + re + '$');
}

function memoryFiles(files: Map<string, string>): TemplateFiles {
  const norm = (p: string): string => p.replace(/^\.\//, '');
  return {
    Get: (p) => files.get(norm(p)) ?? `# stand-in for ${p}\n`,
    Glob: (pattern) => {
      const re = globToRegExp(pattern);
      const out: Record<string, string> = {};
      for (const [p, t] of files) if (re.test(p)) out[p] = t;
      return out;
    },
    Exists: (p) => files.has(norm(p)),
    IsDir: (p) => [...files.keys()].some((k) => k.startsWith(norm(p) + '/')),
  };
}

interface Project {
  repo: string;
  configPath: string;
  files: Map<string, string>;
}

function projects(): Project[] {
  const rows = readFileSync(`${CORPUS}/INDEX.tsv`, 'utf8').trim().split('\n').slice(1);
  const byRepo = new Map<string, Map<string, string>>();
  for (const row of rows) {
    const [file = '', repo = '', path = ''] = row.split('\t');
    if (!byRepo.has(repo)) byRepo.set(repo, new Map(Object.entries(STAND_INS[repo] ?? {})));
    byRepo.get(repo)!.set(path, readFileSync(`${CORPUS}/${file}`, 'utf8'));
  }
  const out: Project[] = [];
  for (const [repo, all] of byRepo) {
    for (const path of all.keys()) {
      const base = path.slice(path.lastIndexOf('/') + 1);
      if (base !== 'werf.yaml' && base !== 'werf.yml') continue;
      const root = path.slice(0, path.length - base.length);
      const files = new Map([...all].filter(([p]) => p.startsWith(root)).map(([p, t]) => [p.slice(root.length), t]));
      out.push({ repo, configPath: path, files });
    }
  }
  return out;
}

for (const project of projects()) {
  test(`corpus ${project.repo} ${project.configPath} renders`, () => {
    const set = new TemplateSet({ env: ENV[project.repo] ?? {} });
    for (const [p, text] of project.files) {
      if (p.startsWith('.werf/') && p.endsWith('.tmpl')) set.parse(p.slice('.werf/'.length), text);
    }
    const configName = project.configPath.slice(project.configPath.lastIndexOf('/') + 1);
    set.parse('werfConfig', project.files.get(configName)!);
    const out = set.execute('werfConfig', {
      Files: memoryFiles(project.files),
      Env: 'EE',
      Commit: { Hash: '0123456789abcdef0123456789abcdef01234567', Date: { Human: '2024-01-02 03:04:05 +0000 UTC', Unix: '1704164645' } },
    });
    assert.ok(out.length > 0);
    const missing = out.split('\n').filter((l) => l.includes('<no value>'));
    assert.deepEqual(missing, [], 'a stand-in is missing');
  });
}

test('corpus: the largest werf.yaml parses and renders in milliseconds', () => {
  const deckhouse = projects().find((p) => p.repo === 'Horiodino/deckhouse')!;
  const text = deckhouse.files.get('werf.yaml')!;
  const start = performance.now();
  for (let i = 0; i < 10; i++) {
    const set = new TemplateSet({ env: ENV['Horiodino/deckhouse'] });
    set.parse('werfConfig', text);
    set.execute('werfConfig', { Files: memoryFiles(deckhouse.files), Env: 'EE', Commit: { Hash: 'x', Date: { Human: '', Unix: '0' } } });
  }
  const perRender = (performance.now() - start) / 10;
  assert.ok(perRender < 200, `took ${perRender.toFixed(1)} ms per parse+render of ${text.length} bytes`);
});
