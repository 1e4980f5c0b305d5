// Generated werf projects for the many-images benchmark (scripts/bench/rebuild) and the tests that
// count git processes: a 6-image application (artifacts, imports, stageDependencies, several
// mappings per image) and a monorepo of N services sharing one git tree.
import { GitProject } from './git-project.js';

export interface GeneratedProject {
  /** Number of images and artifacts in werf.yaml. */
  images: number;
  /** Number of git mappings over all images. */
  mappings: number;
  /** Files committed. */
  files: number;
}

function source(dir: string, n: number, ext: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < n; i++) out[`${dir}/f${i}.${ext}`] = `// ${dir} ${i}\nexport const v${i} = ${i};\n`;
  return out;
}

/**
 * Six images and two artifacts: 9+ stages of the app images, 20+ in all; git mappings with
 * stageDependencies, artifacts imported after install and before setup, an image imported from
 * another image, an image built `from` another one.
 */
export async function generateSixImages(dir: string, base: string): Promise<GeneratedProject> {
  const files: Record<string, string> = {
    ...source('common/lib', 60, 'js'),
    ...source('api/src', 120, 'js'),
    ...source('web/src', 120, 'js'),
    ...source('web/styles', 30, 'css'),
    ...source('worker/cmd', 60, 'go'),
    ...source('docs/pages', 40, 'md'),
    'common/package.json': '{"name":"common","version":"1.0.0"}\n',
    'api/package.json': '{"name":"api","version":"1.0.0"}\n',
    'web/package.json': '{"name":"web","version":"1.0.0"}\n',
    'worker/go.mod': 'module worker\n',
    'README.md': 'generated\n',
  };
  const git = (add: string, to: string, deps: Record<string, string[]>, extra = ''): string =>
    `- add: /${add}\n  to: ${to}\n${extra}  stageDependencies:\n${Object.entries(deps)
      .map(([s, m]) => `    ${s}: [${m.map((x) => JSON.stringify(x)).join(', ')}]\n`)
      .join('')}`;
  const yaml = `project: six
configVersion: 1
---
artifact: assets
from: ${base}
git:
${git('web', '/src', { install: ['package.json'], setup: ['styles/**/*.css'] })}shell:
  install: [mkdir -p /out, cat /src/package.json > /out/deps]
  setup: [cat /src/styles/*.css > /out/app.css]
---
artifact: gobuild
from: ${base}
git:
${git('worker', '/go', { install: ['go.mod'], setup: ['**/*.go'] })}shell:
  install: [mkdir -p /bin-out, cp /go/go.mod /bin-out/mod]
  setup: [ls /go/cmd | wc -l > /bin-out/count]
---
image: base-app
from: ${base}
git:
${git('common', '/common', { install: ['package.json'], setup: ['lib/**'] })}shell:
  beforeInstall: [mkdir -p /srv]
  install: [cp /common/package.json /srv/common.json]
  setup: [ls /common/lib > /srv/common.list]
docker:
  ENV: {APP: base}
---
image: api
from: base-app
git:
${git('api', '/app', { install: ['package.json'], beforeSetup: ['src/f1*.js'], setup: ['src/**'] })}${git('common/lib', '/app/lib', { setup: ['**/*.js'] }, '  excludePaths: [f5*.js]\n')}shell:
  beforeInstall: [mkdir -p /var/api]
  install: [cp /app/package.json /var/api/]
  beforeSetup: [ls /app/src | head -3 > /var/api/first]
  setup: [ls /app/src | wc -l > /var/api/count]
import:
- artifact: gobuild
  add: /bin-out
  to: /opt/worker
  after: install
docker:
  WORKDIR: /app
  EXPOSE: "8080"
---
image: web
from: ${base}
git:
${git('web', '/web', { install: ['package.json'], setup: ['src/**/*.js'] }, '  includePaths: [src, package.json]\n')}shell:
  install: [cp /web/package.json /web.json]
  setup: [ls /web/src | wc -l > /web.count]
import:
- artifact: assets
  add: /out
  to: /web/static
  before: setup
docker:
  WORKDIR: /web
---
image: worker
from: ${base}
git:
${git('worker', '/worker', { install: ['go.mod'], setup: ['cmd/**'] })}shell:
  install: [cp /worker/go.mod /worker.mod]
  setup: [ls /worker/cmd | wc -l > /worker.count]
import:
- artifact: gobuild
  add: /bin-out/count
  to: /usr/local/share/count
  after: setup
---
image: cron
from: worker
shell:
  setup: [echo '*/5 * * * * /worker/run' > /crontab]
docker:
  CMD: ["/bin/sh", "-c", "cat /crontab"]
---
image: docs
from: ${base}
git:
${git('docs', '/docs', { setup: ['pages/*.md'] })}${git('', '/docs/root', { install: ['README.md'] }, '  includePaths: [README.md]\n')}shell:
  install: [mkdir -p /site]
  setup: [ls /docs/pages | wc -l > /site/pages]
import:
- image: web
  add: /web.count
  to: /site/web.count
  after: setup
`;
  const p = await GitProject.init(dir);
  await p.commit({ ...files, 'werf.yaml': yaml }, 'init');
  return { images: 8, mappings: 9, files: Object.keys(files).length + 1 };
}

/**
 * A monorepo: `services` images, each mapping its own service directory plus the shared library
 * (with stageDependencies on both), over one git tree of about `services * filesPerService + 300`
 * files.
 */
export async function generateMonorepo(dir: string, base: string, services: number, filesPerService = 150): Promise<GeneratedProject> {
  const files: Record<string, string> = { ...source('shared/lib', 300, 'js'), 'shared/package.json': '{"name":"shared"}\n' };
  const docs: string[] = ['project: mono', 'configVersion: 1'];
  for (let s = 0; s < services; s++) {
    Object.assign(files, source(`services/svc${s}/src`, filesPerService, 'js'), { [`services/svc${s}/package.json`]: `{"name":"svc${s}"}\n` });
    docs.push(`---
image: svc${s}
from: ${base}
git:
- add: /services/svc${s}
  to: /app
  stageDependencies:
    install: [package.json]
    setup: ["src/**/*.js"]
- add: /shared
  to: /shared
  excludePaths: ["lib/f29*.js"]
  stageDependencies:
    install: [package.json]
shell:
  install: [cp /app/package.json /svc.json]
  setup: [ls /app/src | wc -l > /svc.count]
docker:
  ENV: {SERVICE: svc${s}}`);
  }
  const p = await GitProject.init(dir);
  await p.commit({ ...files, 'werf.yaml': `${docs.join('\n')}\n` }, 'init');
  return { images: services, mappings: services * 2, files: Object.keys(files).length + 1 };
}
