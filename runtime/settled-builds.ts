// Root's build plans before it enters its namespace (namespace-deferral.ts) because a build whose
// stages are all stored needs no namespace at all. When a stage must be built, that planning was in
// vain: the build restarts in the namespace (a second node start) and plans again there. So root's
// build first guesses, cheaply and before the CLI is loaded, whether it will build: it remembers the
// inputs of the last build of the same command that ended with every stage stored ("settled") and
// restarts at once when that record exists and the inputs differ now.
//
// Only a guess about where to plan, never about what to build: whichever way it goes, the build in
// the namespace plans from scratch and builds exactly what is missing. A wrong "unchanged" (an input
// not looked at here, a stage removed by gc) costs what deferral costs anyway (plan, then restart); a
// wrong "changed" (a config edited back to a stored state) costs the no-op one restart. A home with
// no record for the command (its first build) plans first, as before.
//
// A file with no imports of tsbuild's beyond lib/home.ts: bin/tsbuild.js asks it before loading the CLI.
import { mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { homePaths } from '../lib/home.js';

/** `--name value` / `--name=value` of argv (the first), or undefined. */
function flagValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return undefined;
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

function readOrEmpty(path: string): Buffer | string {
  try {
    return readFileSync(path);
  } catch {
    return '';
  }
}

/**
 * The commit git's HEAD names in the repository holding `dir` (git stages follow it), read from the
 * files: no git process. A partial answer is fine (see the top of the file).
 */
function gitHead(dir: string): string {
  for (let d = dir, i = 0; i < 64; i++) {
    const head = readOrEmpty(join(d, '.git', 'HEAD')).toString();
    if (head !== '') {
      const ref = /^ref: (\S+)/.exec(head)?.[1];
      return ref ? `${head}${readOrEmpty(join(d, '.git', ref)).toString()}` : head;
    }
    const gitFile = readOrEmpty(join(d, '.git')).toString();
    if (gitFile !== '') return gitFile;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return '';
}

export interface BuildInputs {
  /** Names the command: the working directory and the arguments. */
  slot: string;
  /** What its stages are most likely to follow: the config file's bytes and git's HEAD (with the slot). */
  inputs: Buffer;
}

/** The slot and inputs of `tsbuild build` run with `args` (argv after "build") in `cwd`. */
export function buildInputs(args: readonly string[], cwd: string = process.cwd()): BuildInputs {
  const dir = resolve(cwd, flagValue(args, '--dir') ?? '.');
  const config = flagValue(args, '--config');
  const configBytes = config !== undefined ? readOrEmpty(resolve(dir, config)) : readOrEmpty(join(dir, 'werf.yaml')) || readOrEmpty(join(dir, 'werf.yml'));
  const slot = JSON.stringify([cwd, ...args]);
  // Kept whole (a config is a few KB), so the record needs no hash: node:crypto alone would add
  // milliseconds to every root build's start, here before the CLI is loaded.
  const inputs = Buffer.concat([Buffer.from(`${slot}\0`), Buffer.from(configBytes), Buffer.from(`\0${gitHead(dir)}`)]);
  return { slot, inputs };
}

/** FNV-1a, twice (two offsets): a file name for the slot; the record itself names its slot in full. */
function slotName(slot: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x9e3779b9;
  for (const byte of Buffer.from(slot)) {
    a = Math.imul(a ^ byte, 0x01000193) >>> 0;
    b = Math.imul(b ^ byte, 0x01000193) >>> 0;
  }
  return `${a.toString(16).padStart(8, '0')}${b.toString(16).padStart(8, '0')}`;
}

function recordPath(slot: string, root: string): string {
  return join(root, 'run', 'settled-builds', slotName(slot));
}

/** The record file of the build argv names (node, script, "build", ...). */
export function settledRecordPath(argv: readonly string[], root: string = homePaths().root): string {
  return recordPath(buildInputs(argv.slice(3)).slot, root);
}

/**
 * True when this build (argv as process.argv: node, script, "build", ...) most likely builds a
 * stage: a build of the same command settled before with other inputs than now.
 */
export function expectsStageToBuild(argv: readonly string[] = process.argv, root: string = homePaths().root): boolean {
  const { slot, inputs } = buildInputs(argv.slice(3));
  const recorded = readOrEmpty(recordPath(slot, root));
  // Another slot's record under the same name (a hash collision) says nothing about this one.
  const sameSlot = Buffer.isBuffer(recorded) && recorded.subarray(0, Buffer.byteLength(slot) + 1).equals(Buffer.from(`${slot}\0`));
  return sameSlot && !recorded.equals(inputs);
}

/**
 * Records kept per home: one per command line (working directory and arguments), so a CI runner
 * that checks out into a new directory per job would add one per job forever. The most recently
 * written are kept (every settled build rewrites its own record).
 */
export const MAX_SETTLED_RECORDS = 256;

/** After a build that ended with every stage stored: remember its inputs (best effort). */
export function recordSettledBuild(argv: readonly string[] = process.argv, root: string = homePaths().root): void {
  const { slot, inputs } = buildInputs(argv.slice(3));
  const file = recordPath(slot, root);
  try {
    mkdirSync(dirname(file), { recursive: true });
    const isNew = statSync(file, { throwIfNoEntry: false }) === undefined;
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, inputs);
    renameSync(tmp, file);
    // Only a new command line can push the directory over its limit: a no-op build lists nothing.
    if (isNew) pruneRecords(dirname(file), MAX_SETTLED_RECORDS);
  } catch {
    /* only a guess for the next build: a home that cannot take it plans first, as without it */
  }
}

/** Keep the `keep` most recently written files of `dir` (records, and temp files a killed build left). */
function pruneRecords(dir: string, keep: number): void {
  const names = readdirSync(dir);
  if (names.length <= keep) return;
  const aged: Array<[string, number]> = [];
  for (const name of names) {
    const st = statSync(join(dir, name), { throwIfNoEntry: false });
    if (st?.isFile()) aged.push([name, st.mtimeMs]);
  }
  aged.sort((a, b) => b[1] - a[1]);
  for (const [name] of aged.slice(keep)) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* removed by another build meanwhile */
    }
  }
}
