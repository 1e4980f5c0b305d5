// Where the stapel toolchain lives inside a stage sandbox and what it provides there: the contract
// between the toolchain image (built by lib/stapel) and the ansible runner.

/** The toolchain's layer, mounted read-only at this path (never part of a stage layer). */
export const STAPEL_IN_SANDBOX = '/.tsbuild/stapel';
/** Playbook, inventory, ansible.cfg and the stdout callback of one stage (read-only). */
export const ANSIBLE_DIR_IN_SANDBOX = '/.tsbuild/ansible';
/** Ansible's local and remote tmp dirs, and where the callback reports a failed task (read-write). */
export const ANSIBLE_TMP_IN_SANDBOX = '/.tsbuild/ansible-tmp';
/** Paths inside the toolchain layer (relative to its root). */
export const STAPEL_PYTHON = 'tsbuild/bin/python';
export const STAPEL_ANSIBLE_PLAYBOOK = 'tsbuild/bin/ansible-playbook';
/** Fallback programs for modules (useradd, groupadd…), last on PATH so the image's own come first. */
export const STAPEL_TOOLS_DIR = 'tsbuild/tools';
/** Layout version of the toolchain; bumped when the paths above or the wrappers change meaning. */
export const STAPEL_FORMAT = '1';
/** The name `tsbuild stapel build` stores the toolchain under, and the one builds use by default. */
export const DEFAULT_STAPEL_IMAGE = `tsbuild/stapel:${STAPEL_FORMAT}`;
/** Image config label carrying the toolchain's package list (name=version, one per line). */
export const STAPEL_PACKAGES_LABEL = 'dev.tsbuild.stapel.packages';
