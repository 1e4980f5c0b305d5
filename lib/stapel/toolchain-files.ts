// The files tsbuild adds to the unpacked Debian packages: launchers that run the toolchain's python
// through its own dynamic loader (so the image's libc, or its lack of one, does not matter) and a
// sitecustomize that keeps the launcher's settings away from the processes modules start.
import { STAPEL_ANSIBLE_PLAYBOOK, STAPEL_IN_SANDBOX, STAPEL_PYTHON } from './stapel-layout.js';
import { BASH_IN_SANDBOX } from '../sandbox/index.js';

export const PYTHON_VERSION = '3.11';
const S = STAPEL_IN_SANDBOX;
const LIBDIRS = `${S}/lib/x86_64-linux-gnu:${S}/usr/lib/x86_64-linux-gnu`;

/**
 * Variables only the toolchain's python needs, removed by sitecustomize once it has started: the
 * image's own python (python3-apt for the apt module, users' scripts) must not inherit PYTHONHOME.
 * LOCPATH and the OPENSSL_* variables stay: glibc and OpenSSL read them lazily (a locale set by
 * ansible, cryptography loading OpenSSL's legacy provider), long after startup.
 */
const PRIVATE_ENV = ['PYTHONHOME', 'PYTHONDONTWRITEBYTECODE'];

export function pythonLauncher(): string {
  return `#!${BASH_IN_SANDBOX}
# tsbuild stapel: python ${PYTHON_VERSION} of the toolchain, started by the toolchain's own loader.
export PYTHONHOME=${S}/usr LOCPATH=${S}/usr/lib/locale LANG=C.UTF-8 LC_ALL=C.UTF-8 \\
  OPENSSL_CONF=/dev/null OPENSSL_MODULES=${S}/usr/lib/x86_64-linux-gnu/ossl-modules PYTHONDONTWRITEBYTECODE=1
exec ${S}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path ${LIBDIRS} ${S}/usr/bin/python${PYTHON_VERSION} "$@"
`;
}

/** Programs of the toolchain that modules may call on bases without them, run through the loader too. */
export const STAPEL_TOOLS: Readonly<Record<string, string>> = {
  useradd: 'usr/sbin/useradd',
  usermod: 'usr/sbin/usermod',
  userdel: 'usr/sbin/userdel',
  groupadd: 'usr/sbin/groupadd',
  groupmod: 'usr/sbin/groupmod',
  groupdel: 'usr/sbin/groupdel',
  chpasswd: 'usr/sbin/chpasswd',
  // ansible's remote-tmp commands and the file modules' helpers, for bases without a userland
  ...Object.fromEntries(
    [
      'mkdir',
      'rm',
      'rmdir',
      'chmod',
      'chown',
      'chgrp',
      'cp',
      'mv',
      'ln',
      'cat',
      'ls',
      'touch',
      'mktemp',
      'stat',
      'id',
      'head',
      'tail',
      'sort',
      'env',
      'true',
      'false',
      'dirname',
      'basename',
      'readlink',
      'sleep',
      'uname',
      'sha256sum',
      'md5sum',
    ].map((t) => [t, `bin/${t}`]),
  ),
};

export function toolLauncher(relPath: string): string {
  return `#!${BASH_IN_SANDBOX}
exec ${S}/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 --library-path ${LIBDIRS} ${S}/${relPath} "$@"
`;
}

export function ansiblePlaybookLauncher(): string {
  return `#!${BASH_IN_SANDBOX}
exec ${S}/${STAPEL_PYTHON} ${S}/usr/bin/ansible-playbook "$@"
`;
}

export function sitecustomize(): string {
  return `# tsbuild stapel: the launcher's python settings are for this python only. Modules start the image's
# own programs (its python for python3-apt, users' scripts); they must not inherit PYTHONHOME.
import os
import sys

for _name in ${JSON.stringify(PRIVATE_ENV)}:
    os.environ.pop(_name, None)
# The bare interpreter cannot start without the launcher (it needs the toolchain's loader).
sys.executable = ${JSON.stringify(`${S}/${STAPEL_PYTHON}`)}
# Ansible's own temporary files (module payloads) go where the runner says, not to the image's /tmp;
# tempfile is pointed there directly so the programs modules start still see the image's TMPDIR.
_tmp = os.environ.get('TSBUILD_PYTHON_TMPDIR')
if _tmp and os.path.isdir(_tmp):
    import tempfile
    tempfile.tempdir = _tmp
`;
}

export { STAPEL_ANSIBLE_PLAYBOOK, STAPEL_PYTHON };
