// End to end: ansible stages on a busybox base and a base without any shell, run by the stapel
// toolchain in the real sandbox — the seed document's examples, werf's Jinja escapes, .Files.Get in
// copy content, failures naming the task, and cache behaviour identical to shell stages.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli, tempDir } from '../support/cli.js';
import { busyboxTree, storeLocalImage } from '../support/local-image.js';
import { LayoutStore } from '../../lib/content/index.js';
import { installStapel } from './ansible-support.js';

const exec = promisify(execFile);
const BASE = 'example.invalid/busybox:ansible';
const BARE = 'example.invalid/bare:ansible';

interface Report {
  images: Array<{ name: string; final: { digest: string }; stages: Array<{ name: string; status: string; reason?: string }> }>;
}

describe('ansible stages', () => {
  let home: { path: string; cleanup(): Promise<void> };
  let project: { path: string; cleanup(): Promise<void> };

  before(async () => {
    home = await tempDir('ansible-home');
    project = await tempDir('ansible-project');
    await installStapel(home.path);
    const tree = await busyboxTree();
    await storeLocalImage(join(home.path, 'store'), BASE, tree.dir, { Env: ['PATH=/bin'] });
    await tree.cleanup();
    // A base with no shell and no libc at all: only what ansible's file modules write into.
    const bare = await tempDir('bare');
    for (const d of ['etc', 'tmp', 'root']) await mkdir(join(bare.path, d));
    await writeFile(join(bare.path, 'etc', 'passwd'), 'root:x:0:0:root:/root:/nonexistent\n');
    await writeFile(join(bare.path, 'etc', 'group'), 'root:x:0:\n');
    await storeLocalImage(join(home.path, 'store'), BARE, bare.path, { Env: ['PATH=/bin'] });
    await bare.cleanup();
  });
  after(async () => {
    await home?.cleanup();
    await project?.cleanup();
  });

  async function build(yaml: string, extra: string[] = []): Promise<{ report: Report; code: number; stderr: string }> {
    await writeFile(join(project.path, 'werf.yaml'), yaml);
    const reportPath = join(project.path, 'report.json');
    const res = await runCli(['build', '--dir', project.path, '--pull', 'never', '--log-format', 'plain', '--report-path', reportPath, ...extra], {
      home: home.path,
    });
    if (res.code !== 0) return { report: { images: [] }, code: res.code, stderr: res.stderr };
    return { report: JSON.parse(await readFile(reportPath, 'utf8')) as Report, code: 0, stderr: res.stderr };
  }

  async function run(image: string, script: string): Promise<string> {
    const res = await runCli(['run', '--dir', project.path, image, '--', 'sh', '-c', script], { home: home.path });
    assert.equal(res.code, 0, res.stderr);
    return res.stdout;
  }

  /** Every path of every layer of the final image. */
  async function layerPaths(digest: string): Promise<string[]> {
    const store = new LayoutStore(join(home.path, 'store'));
    const manifest = await store.readJson<{ layers: Array<{ digest: string }> }>(digest as never);
    const out: string[] = [];
    for (const l of manifest.layers) {
      const { stdout } = await exec('tar', ['-tzf', store.blobPath(l.digest as never)], { maxBuffer: 64 << 20 });
      out.push(...stdout.split('\n').filter(Boolean));
    }
    return out;
  }

  const statuses = (r: Report): Record<string, string> => Object.fromEntries(r.images[0]!.stages.map((s) => [s.name, s.status]));

  test('seed examples, Files.Get in copy content, Jinja escapes and file/copy/command/lineinfile/user/group on busybox', async () => {
    await mkdir(join(project.path, 'conf', 'etc'), { recursive: true });
    await writeFile(join(project.path, 'conf', 'etc', 'nginx.conf'), 'http {\n  sendfile on;\n  tcp_nopush on;\n}\n');
    const yaml = `project: ans
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  beforeInstall:
  - debug: msg='Start install'
  - file: path=/etc mode=0777
  - copy:
      src: /bin/sh
      dest: /bin/sh.orig
  install:
  - file: path=/etc/nginx state=directory
  - copy:
      content: |
{{ .Files.Get "/conf/etc/nginx.conf" | indent 8 }}
      dest: /etc/nginx/nginx.conf
  - file: path=/jinja state=directory
  - copy:
      content: "{{"{{"}} item }}"
      dest: /jinja/{{\`{{item}}\`}}
    with_items: [alpha, beta]
  beforeSetup:
  - group: name=web gid=2000
  - user: name=web uid=2000 group=web home=/home/web
  - lineinfile:
      path: /etc/motd
      line: welcome to {{"{{"}} inventory_hostname }}
      create: yes
      mode: 0640
  setup:
  - name: record the user
    command: sh -c 'id web > /home/web/id.txt'
  - name: say hello
    shell: echo hello from shell module
  cacheVersion: "1"
  setupCacheVersion: a
`;
    const res = await build(yaml);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(statuses(res.report), { from: 'built', beforeInstall: 'built', install: 'built', beforeSetup: 'built', setup: 'built' });
    // live output: one header per task, the command module's output
    assert.match(res.stderr, /TASK beforeInstall\[0\] \(debug\)/);
    assert.match(res.stderr, /Start install/);
    assert.match(res.stderr, /TASK setup\[1\] "say hello" \(shell\)/);
    assert.match(res.stderr, /\| hello from shell module/);
    const out = await run(
      'app',
      'cat /etc/nginx/nginx.conf; cat /jinja/alpha; echo; cat /jinja/beta; echo; cat /etc/motd; stat -c %a /etc/motd /etc; cat /home/web/id.txt; grep ^web: /etc/group; cmp /bin/sh.orig /bin/busybox && echo copied',
    );
    assert.match(out, /http \{\n {2}sendfile on;\n {2}tcp_nopush on;\n\}/);
    assert.match(out, /alpha\nbeta\n/);
    assert.match(out, /welcome to localhost/);
    assert.match(out, /640\n777/);
    assert.match(out, /uid=2000\(web\) gid=2000\(web\)/);
    assert.match(out, /web:x:2000:/);
    assert.match(out, /copied/);
    // nothing of the toolchain, the playbook or ansible's tmp dirs is left in a layer
    const paths = await layerPaths(res.report.images[0]!.final.digest);
    assert.ok(!paths.some((p) => /^(\.\/)?\.tsbuild/.test(p)), 'a layer holds /.tsbuild');
    assert.ok(
      !paths.some((p) => /(^|\/)\.ansible(\/|$)|ansible_/.test(p)),
      `ansible leftovers in a layer: ${paths.filter((p) => /ansible/.test(p)).join(', ')}`,
    );
  });

  test('a failing task fails the stage naming its index, name, module and message', async () => {
    const res = await build(`project: ans
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  install:
  - debug: msg='Start install'
  - name: break here
    command: sh -c 'echo oops >&2; exit 3'
  - debug: msg=never
`);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /task install\[1\] "break here" \(module command\) exited with 3/);
    assert.match(res.stderr, /oops/);
    assert.doesNotMatch(res.stderr, /TASK install\[2\]/);
  });

  test('a module that cannot start shows why (MODULE FAILURE with its stderr); become without sudo says what to do', async () => {
    const res = await build(`project: ans
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  install:
  - user: name=becomer uid=4321
  - name: become
    become: yes
    become_user: becomer
    shell: id
`);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /task install\[1\] "become" \(module shell\) exited with \d+: MODULE FAILURE: .*sudo: command not found/);
    assert.match(res.stderr, /^ +│ +\| .*sudo: command not found$/m);
    assert.match(res.stderr, /^hint: `become` runs the task through sudo, which the image does not have/m);
  });

  test('the seed example with apk on a base without apk fails at the apk task with the module message', async () => {
    const res = await build(`project: ans
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  install:
  - debug: msg='Start install'
  - file: path=/etc mode=0777
  - copy:
      src: /bin/sh
      dest: /bin/sh.orig
  - apk:
      name: curl
      update_cache: yes
`);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /task install\[3\] \(module apk\) failed: .*apk/);
  });

  test('cache: a changed task rebuilds its stage and the later ones only; cache versions count', async () => {
    const yaml = (content: string, setupCv = '1'): string => `project: cache
configVersion: 1
---
image: app
from: ${BASE}
ansible:
  beforeInstall:
  - file: path=/app state=directory
  install:
  - copy: content="${content}" dest=/app/content.txt
  setup:
  - command: sh -c 'cat /app/content.txt > /app/seen.txt'
  setupCacheVersion: "${setupCv}"
`;
    const first = await build(yaml('v1'));
    assert.equal(first.code, 0, first.stderr);
    assert.deepEqual(statuses(first.report), { from: 'built', beforeInstall: 'built', install: 'built', setup: 'built' });
    const again = await build(yaml('v1'));
    assert.deepEqual(statuses(again.report), { from: 'cached', beforeInstall: 'cached', install: 'cached', setup: 'cached' });
    const changed = await build(yaml('v2'));
    assert.equal(changed.code, 0, changed.stderr);
    assert.deepEqual(statuses(changed.report), { from: 'cached', beforeInstall: 'cached', install: 'built', setup: 'built' });
    assert.equal(await run('app', 'cat /app/seen.txt'), 'v2');
    const cv = await build(yaml('v2', '2'));
    assert.deepEqual(statuses(cv.report), { from: 'cached', beforeInstall: 'cached', install: 'cached', setup: 'built' });
    // key order and flow vs block style do not change a task's signature
    const reordered = (await readFile(join(project.path, 'werf.yaml'), 'utf8')).replace(
      '- file: path=/app state=directory',
      '- {file: path=/app state=directory}',
    );
    const same = await build(reordered);
    assert.deepEqual(statuses(same.report), { from: 'cached', beforeInstall: 'cached', install: 'cached', setup: 'cached' });
  });

  test('a base with no shell and no libc (distroless-like) runs file, copy and lineinfile tasks', async () => {
    const res = await build(`project: bare
configVersion: 1
---
image: bare
from: ${BARE}
ansible:
  install:
  - file: path=/srv/app state=directory mode=0750
  - copy: content="configured\\n" dest=/srv/app/app.conf
  - lineinfile: path=/srv/app/app.conf line="port=8080"
`);
    assert.equal(res.code, 0, res.stderr);
    const store = new LayoutStore(join(home.path, 'store'));
    const manifest = await store.readJson<{ layers: Array<{ digest: string }> }>(res.report.images[0]!.final.digest as never);
    const last = manifest.layers[manifest.layers.length - 1]!;
    const { stdout } = await exec('tar', ['-xzOf', store.blobPath(last.digest as never), 'srv/app/app.conf']);
    assert.equal(stdout, 'configured\nport=8080\n');
    const paths = await layerPaths(res.report.images[0]!.final.digest);
    assert.ok(!paths.some((p) => p.includes('.tsbuild')), paths.join(', '));
  });
});
