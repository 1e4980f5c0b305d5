// tsbuild build / plan: run the conveyor for the images of werf.yaml.

import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { build, plan, homePaths } from '../../lib/index.js';
import { parsePlatform, parseRepository } from '../../lib/oci/index.js';
import { shortSignature } from '../../lib/conveyor/index.js';
import { StageFailedError, TsbuildError, exitCodeFor, isTsbuildError } from '../../lib/errors.js';
import { parseLayerCompression } from '../../lib/layer/index.js';
import type { BuildEvent } from '../../lib/events.js';
import { reportCollector, type BuildReport, type ReportError } from '../build-report.js';
import { eventPrinter, type LogFormat } from '../event-printer.js';
import { formatSize, table } from '../format.js';
import { ttyView } from '../tty-view.js';
import { createRuntime, prepareRuntime, SANDBOX_FLAG, SNAPSHOTTER_FLAG, MAX_LAYER_SIZE_FLAG } from '../runtime-factory.js';
import { registryClient, withAbort } from '../shared.js';
import { holdEvents, skipShownPulls, type EventHold } from '../held-events.js';
import { isRestartInNamespace, restartInNamespace, RestartInNamespace, useBuilderGitEnv } from '../../runtime/namespace-deferral.js';
import { recordSettledBuild } from '../../runtime/settled-builds.js';
import { currentIdMode, stepNamespaceIds } from '../../runtime/userns.js';
import { parseRegistryMirror, parseSourceDateEpoch, type PullPolicy } from '../../lib/conveyor/index.js';

interface BuildFlags {
  dir?: string;
  config?: string;
  env?: string;
  push?: boolean;
  repo?: string;
  reportPath?: string;
  pull: string;
  platform?: string;
  logFormat: string;
  dryRun?: boolean;
  insecureRegistry: string[];
  parallel: string;
  creds?: string;
  dev?: boolean;
  cacheRepo?: string;
  secondaryRepo?: string;
  sandbox?: string;
  snapshotter?: string;
  registryMirror: string[];
  stapelImage?: string;
  transferTimeout?: string;
  maxLayerSize?: string;
  layerCompression?: string;
}

function parseParallel(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new TsbuildError('TSB_USAGE', `--parallel must be a positive integer (got "${v}")`);
  return n;
}

function pullPolicy(v: string): PullPolicy {
  if (v !== 'missing' && v !== 'always' && v !== 'never') throw new TsbuildError('TSB_USAGE', `--pull must be missing, always or never (got "${v}")`);
  return v;
}

function logFormat(v: string): LogFormat {
  if (v === 'json') return 'json';
  if (v === 'plain' || v === 'auto' || v === 'tty') return 'plain';
  throw new TsbuildError('TSB_USAGE', `--log-format must be auto, plain, tty or json (got "${v}")`);
}

/** auto: the live view when stderr is a terminal (and TERM is not dumb), plain lines otherwise. */
function wantsTty(v: string): boolean {
  return v === 'tty' || (v === 'auto' && !!process.stderr.isTTY && process.env.TERM !== 'dumb');
}

export function registerBuild(program: Command): void {
  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  const common = (c: Command): Command =>
    c
      .option('--dir <dir>', 'project directory (where werf.yaml is)', process.cwd())
      .option('--config <file>', 'config file, relative to --dir (default werf.yaml or werf.yml)')
      .option('--env <env>', 'werf environment, visible in templates as .Env')
      .option('--pull <policy>', 'base images: missing | always | never', 'missing')
      .option('--platform <os/arch>', 'platform of base images (default: the host)')
      .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
      .option('--transfer-timeout <seconds>', 'fail a registry transfer that makes no progress for this long (default: $TSBUILD_TRANSFER_TIMEOUT or 60)')
      .option(
        '--creds <user:pass>',
        'registry credentials (for the --repo registry when given, else for every registry); default: saved by `tsbuild login` / auth files',
      )
      .option(
        '--log-format <format>',
        'auto (live view on a terminal, plain lines otherwise) | plain | tty | json (one event per line, docs/events.md)',
        'auto',
      )
      .option('--dev', 'build the git work tree as it is (uncommitted changes included) instead of HEAD')
      .option(
        '--stapel-image <ref>',
        'ansible toolchain image to pull (default $TSBUILD_STAPEL_IMAGE, else tsbuild/stapel of the local store, made from Debian packages by the first ansible build or `tsbuild stapel build`)',
        process.env.TSBUILD_STAPEL_IMAGE || undefined,
      );

  common(
    program
      .command('build')
      .description('build the images of werf.yaml, reusing every stage that is already stored')
      .argument('[images...]', 'image names to build (default: all), with the images they need'),
  )
    .option('--push', 'push final images to --repo')
    .option(
      '--layer-compression <c>',
      'compression of the layers this build writes: gzip (default) | zstd | zstd:LEVEL (1-19); does not change stage signatures',
    )
    .option('--repo <registry/name>', 'stages repository (REPO:<signature>, shared by builders); with --push final images go to REPO/<image>:latest')
    .option('--cache-repo <registry/name>', 'stages repository looked up first and written after the build')
    .option('--secondary-repo <registry/name>', 'read-only stages repository (looked up last)')
    .option('--report-path <file>', 'write a JSON report of images and stages')
    .option('--dry-run', 'show the plan without building (same as `tsbuild plan`)')
    .option('--parallel <n>', 'build up to N independent images at the same time', '2')
    .option(
      '--registry-mirror <registry=mirror>',
      'fetch base images of REGISTRY from MIRROR[/PREFIX] (repeatable; names and signatures keep the reference as written)',
      collect,
      [] as string[],
    )
    .option(...SANDBOX_FLAG)
    .option(...SNAPSHOTTER_FLAG)
    .option(...MAX_LAYER_SIZE_FLAG)
    .action(async (images: string[], flags: BuildFlags) => {
      if (flags.dryRun) return runPlan(images, flags);
      // As root the build plans in this process and enters its namespace only when a stage is to be
      // built (runtime/namespace-deferral.ts); then it runs again there, or here when no namespace
      // can be made.
      if ((await runBuild(images, flags, true)) === 'restart') {
        const code = await restartInNamespace();
        if (code !== undefined) process.exitCode = code;
        else await runBuild(images, flags, false);
      }
    });

  common(program.command('plan').description('show every stage with its signature and whether it would be built').argument('[images...]', 'image names'))
    .option('--repo <registry/name>', 'stages repository to look stages up in (manifests only)')
    .option('--cache-repo <registry/name>', 'stages repository looked up first')
    .option('--secondary-repo <registry/name>', 'read-only stages repository (looked up last)')
    .option('--registry-mirror <registry=mirror>', 'resolve base images of REGISTRY on MIRROR[/PREFIX] (repeatable)', collect, [] as string[])
    .action(async (images: string[], flags: BuildFlags) => runPlan(images, flags));
}

/**
 * The build. With `defer` (root, namespace not entered: RuntimeChoice.deferred) it resolves with
 * 'restart' as soon as a stage is to be built or waited for, or anything asks for a mount or a step;
 * nothing has been mounted or run then, and the events the build would print again are held.
 */
async function runBuild(images: string[], flags: BuildFlags, defer: boolean): Promise<'restart' | undefined> {
  const fmt = logFormat(flags.logFormat);
  const collector = reportCollector();
  let print = skipShownPulls(eventPrinter(fmt));
  let view: ReturnType<typeof ttyView> | undefined;
  let hold: EventHold | undefined;
  let runtime: ReturnType<typeof createRuntime> | undefined;
  let restoreEnv: (() => void) | undefined;
  const writeReport = async (report: BuildReport): Promise<void> => {
    if (flags.reportPath) await writeFile(flags.reportPath, `${JSON.stringify(report, null, 2)}\n`);
  };
  const restart = (): 'restart' => {
    view?.close();
    Object.assign(process.env, hold?.drop());
    restoreEnv?.();
    return 'restart';
  };
  try {
    const layerCompression = flags.layerCompression !== undefined ? parseLayerCompression(flags.layerCompression) : undefined;
    const sourceDateEpoch = process.env.SOURCE_DATE_EPOCH ? parseSourceDateEpoch(process.env.SOURCE_DATE_EPOCH) : undefined;
    // Rootless: the rest of the command runs again inside a user namespace; its exit code is ours.
    const prepared = await prepareRuntime(flags, undefined, { deferNamespace: defer });
    if ('exitCode' in prepared) {
      process.exitCode = prepared.exitCode;
      return undefined;
    }
    const home = homePaths();
    view = wantsTty(flags.logFormat) ? ttyView() : undefined;
    if (view) print = view.onEvent;
    if (prepared.choice.deferred) {
      hold = holdEvents(print);
      restoreEnv = useBuilderGitEnv();
    }
    const onEvent = (e: BuildEvent): void => {
      // The first stage to build or to wait for (waiting comes before the stage's lock is held), or
      // the ansible toolchain to make (the first ansible build on a machine): both in the namespace.
      if (hold && (e.type === 'stage.start' || e.type === 'stage.waiting')) throw new RestartInNamespace(`stage ${e.stage} of image "${e.image || '~'}"`);
      if (hold && e.type === 'stapel.progress') throw new RestartInNamespace('making the ansible toolchain');
      collector.onEvent(e);
      if (hold) hold.onEvent(e);
      else print(e);
    };
    await withAbort(async (signal) => {
      try {
        const result = await build({
          dir: flags.dir!,
          ...(flags.config ? { config: flags.config } : {}),
          ...(flags.env ? { werfEnv: flags.env } : {}),
          home,
          images,
          dev: !!flags.dev,
          parallel: parseParallel(flags.parallel),
          push: !!flags.push,
          ...(flags.repo ? { repo: flags.repo } : {}),
          ...(flags.cacheRepo ? { cacheRepo: flags.cacheRepo } : {}),
          ...(flags.secondaryRepo ? { secondaryRepo: flags.secondaryRepo } : {}),
          pull: pullPolicy(flags.pull),
          registryMirrors: flags.registryMirror.map(parseRegistryMirror),
          ...(flags.stapelImage ? { stapelImage: flags.stapelImage } : {}),
          ...(layerCompression ? { layerCompression } : {}),
          ...(sourceDateEpoch !== undefined ? { sourceDateEpoch } : {}),
          ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
          registry: registryClient(flags.insecureRegistry, {
            creds: flags.creds,
            credsFor: flags.repo ? [parseRepository(flags.repo).registry] : undefined,
            transferTimeout: flags.transferTimeout,
          }),
          createRuntime: (store) => (runtime = createRuntime(home, store, prepared.choice)),
          onEvent,
          signal,
        });
        // A deferred runtime asked to mount, and whoever asked went on without: restart all the same.
        if (runtime?.restartDue) throw new RestartInNamespace('a mount was asked for');
        hold?.flush();
        restoreEnv?.();
        // Every stage is stored now: the next build of this command plans first only if its inputs are these.
        if (rootBuild()) recordSettledBuild();
        await writeReport(collector.succeeded(result));
        view?.close();
        if (fmt === 'plain') printSummary(result);
      } finally {
        view?.close();
        await runtime?.snapshotter.removeAll();
      }
    });
    return undefined;
  } catch (caught) {
    if (hold && (isRestartInNamespace(caught) || runtime?.restartDue)) return restart();
    const err = withIdModeHint(caught);
    hold?.flush();
    restoreEnv?.();
    // A failed build is reported like a successful one (also when it fails before building: the
    // sandbox, a flag): the report file, and in JSON an error event instead of text.
    const error = errorFields(err);
    view?.close();
    await writeReport(collector.failed(error)).catch((e: Error) => process.stderr.write(`tsbuild: cannot write the report: ${e.message}\n`));
    if (fmt !== 'json') throw err;
    print({ type: 'error', ...error });
    process.exitCode = error.exitCode;
    return undefined;
  }
}

/**
 * With only the user's own id mapped, a failing step is most often one that switches users (apt's
 * `_apt` sandbox, useradd, chown): the hint says so instead of only "fix the command".
 */
function withIdModeHint(err: unknown): unknown {
  if (!(err instanceof StageFailedError) || currentIdMode() !== 'single') return err;
  return new StageFailedError({
    imageName: err.imageName,
    stage: err.stage,
    exitCode: err.exitCode,
    command: err.command,
    lastLines: err.lastLines,
    hint:
      'stages run with only your own id mapped (no subordinate id range), so commands that switch users or chown (apt-get, useradd, chown) fail; ' +
      'ask an administrator to run `usermod --add-subuids 100000-165535 --add-subgids 100000-165535 <you>`, or fix the command in werf.yaml',
  });
}

/** Host root, or root's builder in its namespace: the builds that may plan before the namespace. */
function rootBuild(): boolean {
  return process.getuid?.() === 0 && (currentIdMode() === undefined || stepNamespaceIds() !== undefined);
}

function printSummary(result: Awaited<ReturnType<typeof build>>): void {
  const rows = [['IMAGE', 'STAGE', 'SIGNATURE', 'STATUS', 'TIME', 'SIZE', 'REASON']];
  for (const img of result.images) {
    for (const s of img.stages) {
      const built = s.status === 'built';
      rows.push([
        img.name || '~',
        s.name,
        shortSignature(s.signature),
        s.status,
        built ? `${(s.durationMs / 1000).toFixed(2)}s` : '-',
        built ? formatSize(s.size ?? 0) : '-',
        s.reason ?? '',
      ]);
    }
  }
  process.stdout.write(`${table(rows)}\n`);
  for (const img of result.images) {
    process.stdout.write(`image ${img.name || '~'}: ${img.final.digest}${img.pushed ? ` pushed to ${img.pushed.ref}` : ''}\n`);
  }
}

/** The error as the report and the JSON error event carry it. */
function errorFields(err: unknown): ReportError {
  if (isTsbuildError(err)) return { code: err.code, message: err.message, ...(err.hint ? { hint: err.hint } : {}), exitCode: exitCodeFor(err) };
  return { code: 'TSB_INTERNAL', message: (err as Error)?.message ?? String(err), exitCode: exitCodeFor(err) };
}

async function runPlan(images: string[], flags: BuildFlags): Promise<void> {
  const registry = registryClient(flags.insecureRegistry, {
    creds: flags.creds,
    credsFor: flags.repo ? [parseRepository(flags.repo).registry] : undefined,
    transferTimeout: flags.transferTimeout,
  });
  const result = await withAbort((signal) =>
    plan({
      dir: flags.dir!,
      ...(flags.config ? { config: flags.config } : {}),
      ...(flags.env ? { werfEnv: flags.env } : {}),
      home: homePaths(),
      images,
      dev: !!flags.dev,
      push: !!flags.push,
      ...(flags.repo ? { repo: flags.repo } : {}),
      ...(flags.cacheRepo ? { cacheRepo: flags.cacheRepo } : {}),
      ...(flags.secondaryRepo ? { secondaryRepo: flags.secondaryRepo } : {}),
      pull: pullPolicy(flags.pull),
      registryMirrors: (flags.registryMirror ?? []).map(parseRegistryMirror),
      ...(flags.stapelImage ? { stapelImage: flags.stapelImage } : {}),
      ...(flags.platform ? { platform: parsePlatform(flags.platform) } : {}),
      registry,
      onEvent: eventPrinter(logFormat(flags.logFormat)),
      signal,
    }),
  );
  if (logFormat(flags.logFormat) === 'json') {
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const rows = [['IMAGE', 'STAGE', 'SIGNATURE', 'STATUS', 'REASON']];
  for (const img of result.images)
    for (const s of img.stages) rows.push([img.name || '~', s.name, s.signature ? shortSignature(s.signature) : '?', s.status, s.reason ?? '']);
  process.stdout.write(`${table(rows)}\n`);
}
