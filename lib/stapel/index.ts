// The stapel toolchain (ansible + python from Debian packages) as an OCI image in the local store.
export { buildStapel, type StapelBuildOptions, type StapelBuildResult } from './build-toolchain.js';
export { resolveClosure, describePackages, STAPEL_PRUNED, type DebPackage } from './packages.js';
export { downloadDebs } from './download.js';
export * from './stapel-layout.js';
export { stapelStatus, type StapelStatus } from './toolchain-status.js';
