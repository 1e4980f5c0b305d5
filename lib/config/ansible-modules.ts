// Ansible tasks of werf.yaml checked when the config is loaded (werf-spec §3.5, §8.3): every task uses
// exactly one module of werf's whitelist — modules whose effect follows from their arguments, so the
// task text can be the cache key — or is a block whose children do. Errors name the task and its line.
import { isMap, isScalar, isSeq } from 'yaml';
import type { MapReader } from './node-reader.js';
import { closest } from './suggest.js';

/** werf's supported modules (pkg/config/ansible.go), in werf's grouping. */
const ANSIBLE_MODULES: readonly string[] = [
  'command',
  'shell',
  'raw',
  'script',
  'openssl_certificate',
  'openssl_csr',
  'openssl_privatekey',
  'openssl_publickey',
  'acl',
  'archive',
  'assemble',
  'blockinfile',
  'copy',
  'file',
  'replace',
  'find',
  'ini_file',
  'iso_extract',
  'lineinfile',
  'stat',
  'tempfile',
  'unarchive',
  'xattr',
  'get_url',
  'slurp',
  'uri',
  'bower',
  'bundler',
  'composer',
  'cpanm',
  'easy_install',
  'gem',
  'maven_artifact',
  'npm',
  'pear',
  'pip',
  'yarn',
  'apk',
  'apt',
  'apt_key',
  'apt_repository',
  'apt_rpm',
  'dnf',
  'dpkg_selections',
  'debconf',
  'homebrew',
  'homebrew_cask',
  'homebrew_tap',
  'layman',
  'macports',
  'openbsd_pkg',
  'opkg',
  'package',
  'pacman',
  'pkg5',
  'pkg5_publisher',
  'pkgin',
  'pkgng',
  'pkgutil',
  'portage',
  'portinstall',
  'pulp_repo',
  'redhat_subscription',
  'rhn_channel',
  'rhn_register',
  'rpm_key',
  'slackpkg',
  'sorcery',
  'svr4pkg',
  'swdepot',
  'swupd',
  'urpmi',
  'xbps',
  'yum',
  'yum_repository',
  'zypper',
  'zypper_repository',
  'cron',
  'user',
  'group',
  'getent',
  'locale_gen',
  'timezone',
  'meta',
  'assert',
  'debug',
  'fail',
  'set_fact',
  'wait_for',
];
const MODULES = new Set(ANSIBLE_MODULES);
const BLOCK_KEYS = ['block', 'rescue', 'always'];

/** Task keywords of ansible 2.x (not modules). `with_<lookup>` loops are recognised by prefix. */
const KEYWORDS = new Set([
  'name',
  'args',
  'async',
  'poll',
  'changed_when',
  'failed_when',
  'delay',
  'retries',
  'until',
  'register',
  'when',
  'loop',
  'loop_control',
  'notify',
  'listen',
  'tags',
  'become',
  'become_exe',
  'become_flags',
  'become_method',
  'become_user',
  'check_mode',
  'collections',
  'connection',
  'debugger',
  'diff',
  'environment',
  'ignore_errors',
  'ignore_unreachable',
  'module_defaults',
  'no_log',
  'port',
  'remote_user',
  'run_once',
  'throttle',
  'timeout',
  'vars',
  'any_errors_fatal',
  'delegate_to',
  'delegate_facts',
]);

const isKeyword = (k: string): boolean => KEYWORDS.has(k) || k.startsWith('with_');

function allowedModulesText(): string {
  return `supported modules: ${ANSIBLE_MODULES.join(', ')} (and block/rescue/always)`;
}

/** The tasks of one user stage as plain values (YAML 1.1 like werf: 0644 is octal, yes is true). */
export function readAnsibleTasks(m: MapReader, stage: string): unknown[] {
  const node = m.valueNode(stage);
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  if (!isSeq(node)) m.fail(`${m.where}: "${stage}" must be a list of tasks`, stage);
  const tasks = m.mapList(stage, (i) => `${m.where}.${stage}[${i}]`);
  for (const t of tasks) checkTask(t);
  return m.json(stage) as unknown[];
}

function taskLabel(t: MapReader): string {
  const name = t.has('name') && !t.isNull('name') && isScalar(t.valueNode('name')) ? t.str('name') : undefined;
  return name ? `${t.where} ("${name}")` : t.where;
}

function checkTask(t: MapReader): void {
  const keys = [...t.pairs.keys()];
  const blocks = keys.filter((k) => BLOCK_KEYS.includes(k));
  const modules = keys.filter((k) => MODULES.has(k));
  const unknown = keys.filter((k) => !MODULES.has(k) && !isKeyword(k) && !BLOCK_KEYS.includes(k));
  const hint = allowedModulesText();
  if (blocks.length > 0) {
    if (modules.length > 0 || unknown.length > 0) {
      t.fail(
        `invalid ansible task ${taskLabel(t)}: a block task can not also use a module (${[...modules, ...unknown].join(', ')})`,
        [...modules, ...unknown][0],
        hint,
      );
    }
    for (const b of blocks) {
      const v = t.valueNode(b);
      if (v === undefined || (isScalar(v) && v.value === null)) continue;
      if (!isSeq(v) || !v.items.every((i) => isMap(i))) t.fail(`invalid ansible task ${taskLabel(t)}: "${b}" must be a list of tasks`, b);
      for (const child of t.mapList(b, (i) => `${t.where}.${b}[${i}]`)) checkTask(child);
    }
    return;
  }
  if (unknown.length > 0) {
    const k = unknown[0]!;
    const guess = suggestion(k);
    t.fail(`unsupported ansible task ${taskLabel(t)}: module "${k}" is not supported${guess ? ` — did you mean "${guess}"?` : ''}`, k, hint);
  }
  if (modules.length === 0) {
    t.fail(`unsupported ansible task ${taskLabel(t)}: no module (keys: ${keys.join(', ') || 'none'})`, undefined, hint);
  }
  if (modules.length > 1) {
    t.fail(`invalid ansible task ${taskLabel(t)}: a task uses exactly one module, this one uses ${modules.join(' and ')}`, modules[1], hint);
  }
}

function suggestion(key: string): string | undefined {
  // werf does not recognise collection names: ansible.builtin.copy must be written copy.
  const fq = /^ansible\.(?:builtin|posix|legacy)\.(\w+)$/.exec(key);
  if (fq && MODULES.has(fq[1]!)) return fq[1];
  if (key === 'action' || key === 'local_action') return undefined;
  return closest(key, ANSIBLE_MODULES);
}
