// Where tsbuild's own files appear inside a sandbox: the contract between the stage runners, the
// runtime and the stapel toolchain (whose launchers call the static bash by this path).
export const TSBUILD_DIR = '/.tsbuild';
/** Debian's static bash, bind-mounted read-only so shell stages work on any base. */
export const BASH_IN_SANDBOX = `${TSBUILD_DIR}/bin/bash`;
