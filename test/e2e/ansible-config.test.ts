// Ansible tasks checked when werf.yaml is loaded (werf-spec §8.3): the whitelist with the task and
// its line in the error; the corpus's ansible configs load and give playbooks with tagged tasks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli, tempDir } from '../support/cli.js';
import { loadConfig } from '../../lib/config/index.js';
import { ConfigError } from '../../lib/errors.js';
import { normalisedTasks, playbookText } from '../../lib/conveyor/ansible/index.js';

// The corpus kept in the repository (test/fixtures/werf-corpus), so a clone anywhere has it.
const CORPUS = process.env.TSBUILD_CORPUS_DIR ?? fileURLToPath(new URL('../../../test/fixtures/werf-corpus/werf-configs', import.meta.url));
const HEAD = 'project: p\nconfigVersion: 1\n---\nimage: app\nfrom: alpine:3.20\nansible:\n';

async function loadError(body: string): Promise<ConfigError> {
  const dir = await tempDir('ansible-config');
  try {
    await writeFile(join(dir.path, 'werf.yaml'), HEAD + body);
    await loadConfig({ dir: dir.path });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  } finally {
    await dir.cleanup();
  }
  assert.fail('the config loaded');
}

test('a module outside the whitelist is a config error naming the task and line, listing what is allowed', async () => {
  const err = await loadError('  install:\n  - debug: msg=x\n  - name: render it\n    template: src=a dest=b\n');
  assert.match(err.message, /werf\.yaml:10:5: unsupported ansible task .*install\[1\] \("render it"\): module "template" is not supported/);
  assert.match(err.hint ?? '', /supported modules: command, shell, raw, script, .*apt.*yum.*wait_for/);
});

test('two modules in one task, a task without module and collection names are errors; blocks are checked inside', async () => {
  assert.match(
    (await loadError('  setup:\n  - shell: a\n    command: b\n')).message,
    /invalid ansible task .*setup\[0\]: a task uses exactly one module, this one uses shell and command/,
  );
  assert.match((await loadError('  setup:\n  - name: nothing\n    when: x\n')).message, /unsupported ansible task .*"nothing"\): no module/);
  assert.match((await loadError('  setup:\n  - ansible.builtin.copy: {content: x, dest: /y}\n')).message, /did you mean "copy"\?/);
  assert.match(
    (await loadError('  setup:\n  - block:\n    - debug: msg=ok\n    - synchronize: {src: a, dest: b}\n')).message,
    /setup\[0\]\.block\[1\]: module "synchronize" is not supported/,
  );
  assert.match((await loadError('  setup:\n  - copyy: {content: x, dest: /y}\n')).message, /did you mean "copy"\?/);
});

test('the CLI reports it with exit code 2', async () => {
  const dir = await tempDir('ansible-config-cli');
  const home = await tempDir('ansible-config-home');
  try {
    await writeFile(join(dir.path, 'werf.yaml'), `${HEAD}  install:\n  - fetch: {src: /a, dest: /b}\n`);
    const res = await runCli(['plan', '--dir', dir.path], { home: home.path });
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /unsupported ansible task/);
  } finally {
    await dir.cleanup();
    await home.cleanup();
  }
});

test('werf YAML 1.1 values reach the playbook as ansible reads them; Jinja stays intact', async () => {
  const dir = await tempDir('ansible-yaml');
  try {
    await writeFile(
      join(dir.path, 'werf.yaml'),
      `${HEAD}  install:\n  - file: {path: /x, mode: 0644, state: directory}\n  - apt: {name: curl, update_cache: yes}\n  - copy:\n      content: "{{"{{"}} item }}"\n      dest: /y/{{\`{{item}}\`}}\n    with_items: [a]\n    tags: mine\n`,
    );
    const cfg = await loadConfig({ dir: dir.path });
    const ins = cfg.images[0]!.instructions!;
    assert.equal(ins.kind, 'ansible');
    const tasks = ins.stages.install as Array<Record<string, Record<string, unknown>>>;
    assert.equal(tasks[0]!.file!.mode, 0o644);
    assert.equal(tasks[1]!.apt!.update_cache, true);
    assert.equal(tasks[2]!.copy!.content, '{{ item }}');
    assert.equal(tasks[2]!.copy!.dest, '/y/{{item}}');
    const play = JSON.parse(playbookText(tasks)) as Array<{ hosts: string; gather_facts: boolean; tasks: Array<{ tags: string[] }> }>;
    assert.equal(play[0]!.hosts, 'all');
    assert.equal(play[0]!.gather_facts, false);
    assert.deepEqual(
      play[0]!.tasks.map((t) => t.tags),
      [['task_0'], ['task_1'], ['mine', 'task_2']],
    );
    // canonical JSON: key order does not matter
    assert.deepEqual(normalisedTasks([{ b: 1, a: { d: 2, c: 3 } }]), normalisedTasks([{ a: { c: 3, d: 2 }, b: 1 }]));
  } finally {
    await dir.cleanup();
  }
});

test('the corpus configs with ansible and no templates load, and every task makes a playbook', async () => {
  const rows = readFileSync(`${CORPUS}/INDEX.tsv`, 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.split('\t'));
  const plain = rows.filter((r) => r[4]?.split(',').includes('ansible') && !/templates|Files\.Get|\.Env|env/.test(r[4] ?? ''));
  assert.ok(plain.length >= 4, `only ${plain.length} plain ansible configs in the corpus`);
  let tasks = 0;
  for (const r of plain) {
    const dir = await tempDir('ansible-corpus');
    try {
      await mkdir(dir.path, { recursive: true });
      await writeFile(join(dir.path, 'werf.yaml'), readFileSync(`${CORPUS}/${r[0]}`, 'utf8'));
      const cfg = await loadConfig({ dir: dir.path });
      for (const image of cfg.images) {
        if (image.instructions?.kind !== 'ansible') continue;
        for (const list of Object.values(image.instructions.stages)) {
          tasks += list.length;
          assert.equal(JSON.parse(playbookText(list))[0].tasks.length, list.length);
        }
      }
    } finally {
      await dir.cleanup();
    }
  }
  assert.ok(tasks > 5, `${tasks} tasks`);
});
