// tsbuild stages list|gc|purge: the stage images kept in the local store, or with --repo R in a
// stages repository (these maintenance commands list tags; builds never do).
import type { Command } from 'commander';
import { gcRepositoryStages, gcStages, homePaths, listRepositoryStages, listStages, purgeRepositoryStages, purgeStages } from '../../lib/index.js';
import { shortSignature } from '../../lib/conveyor/index.js';
import { formatSize, table } from '../format.js';
import { parseRepository, type Reference } from '../../lib/oci/index.js';
import { TsbuildError } from '../../lib/errors.js';
import { registryClient, withAbort } from '../shared.js';
import { inBuilderNamespace } from '../runtime-factory.js';

interface RepoFlags {
  repo?: string;
  insecureRegistry: string[];
  creds?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

function repoOptions(c: Command): Command {
  return c
    .option('--repo <registry/name>', 'work on this stages repository instead of the local store')
    .option('--insecure-registry <host>', 'reach the registry over plain http (repeatable)', collect, [] as string[])
    .option('--creds <user:pass>', 'registry credentials (default: saved by `tsbuild login` / auth files)');
}

function remote(flags: RepoFlags): { repo: Reference; client: ReturnType<typeof registryClient> } {
  const repo = parseRepository(flags.repo!);
  return { repo, client: registryClient(flags.insecureRegistry, { creds: flags.creds, credsFor: [repo.registry] }) };
}

async function listRepo(flags: RepoFlags & { project?: string }): Promise<void> {
  const { repo, client } = remote(flags);
  const all = await withAbort((signal) => listRepositoryStages({ registry: client, repo, signal }, flags.project));
  const rows = [['PROJECT', 'IMAGE', 'STAGE', 'SIGNATURE', 'PARENT', 'DIGEST', 'CREATED']];
  for (const s of all) {
    rows.push([
      s.record.project,
      s.record.imageName || '~',
      s.record.stage,
      shortSignature(s.tag),
      s.record.parent ? shortSignature(s.record.parent) : '-',
      s.digest.slice(7, 19),
      s.record.created,
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}

function keepDays(v: string | undefined): number {
  const n = Number(v);
  if (v === undefined || !Number.isFinite(n) || n < 0) {
    throw new TsbuildError('TSB_USAGE', `--keep-days must be a number of days >= 0 (got "${v ?? ''}")`, {
      hint: 'for example: tsbuild stages gc --repo 127.0.0.1:5000/stages --keep-days 14',
    });
  }
  return n;
}

/**
 * "Now" for --keep-days. TSBUILD_NOW (an ISO-8601 time) pins it: a test hook, so that a window a
 * test derives from the stages' recorded times does not move while a loaded machine runs it.
 */
function gcNow(): number {
  const pinned = process.env.TSBUILD_NOW;
  if (!pinned) return Date.now();
  const t = Date.parse(pinned);
  if (Number.isNaN(t))
    throw new TsbuildError('TSB_USAGE', `TSBUILD_NOW must be an ISO-8601 time (got "${pinned}")`, {
      hint: 'unset TSBUILD_NOW: it only pins the current time for tests',
    });
  return t;
}

export function registerStages(program: Command): void {
  const stages = program.command('stages').description('manage stored stages');
  repoOptions(
    stages
      .command('list')
      .description('list stored stages (all projects, or --project P); with --repo those of a stages repository with their records')
      .option('--project <name>', 'only this project'),
  ).action(async (flags: RepoFlags & { project?: string }) => {
    if (flags.repo) return listRepo(flags);
    const all = await listStages(homePaths(), flags.project);
    const rows = [['PROJECT', 'IMAGE', 'STAGE', 'SIGNATURE', 'DIGEST', 'CREATED']];
    for (const s of all) {
      rows.push([s.project, s.imageName || '~', s.stage, shortSignature(s.signature), s.descriptor.digest.slice(7, 19), s.created]);
    }
    process.stdout.write(`${table(rows)}\n`);
  });
  repoOptions(
    stages
      .command('gc')
      .description(
        'delete blobs no stage, base or final image refers to (safe while builds run); with --repo: delete stages no final image built in the last --keep-days days needs',
      )
      .option('--keep-days <n>', 'with --repo: keep stages reached by final stages built in the last N days')
      .option('--dry-run', 'only report what would be deleted'),
  ).action(async (flags: RepoFlags & { dryRun?: boolean; keepDays?: string }) => {
    if (flags.repo) {
      const days = keepDays(flags.keepDays);
      const { repo, client } = remote(flags);
      await withAbort(async (signal) => {
        const { removed, ...plan } = await gcRepositoryStages({ registry: client, repo, signal }, { keepDays: days, now: gcNow(), dryRun: !!flags.dryRun });
        for (const s of plan.remove)
          process.stdout.write(
            `${flags.dryRun ? 'would remove' : 'removed'} ${s.record.project} ${s.record.imageName || '~'} ${s.record.stage} ${shortSignature(s.tag)} (${s.record.created})\n`,
          );
        process.stdout.write(
          `${flags.dryRun ? `would remove ${plan.remove.length}` : `removed ${removed}`} stages from ${flags.repo}, kept ${plan.keep.length}\n`,
        );
      });
      return;
    }
    if (flags.keepDays !== undefined) throw new TsbuildError('TSB_USAGE', '--keep-days applies to a stages repository', { hint: 'add --repo REGISTRY/NAME' });
    // Leftovers of a killed rootless build can be removed only where the build ran.
    const exitCode = await inBuilderNamespace();
    if (exitCode !== undefined) {
      process.exitCode = exitCode;
      return;
    }
    const r = await gcStages(homePaths(), { dryRun: !!flags.dryRun });
    process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${r.removed} blobs (${formatSize(r.freedBytes)}), kept ${r.kept}\n`);
    process.stdout.write(
      `${flags.dryRun ? 'would remove' : 'removed'} ${r.leftovers} leftovers of killed builds (temp dirs, snapshots and their mounts, partial blobs)\n`,
    );
  });
  repoOptions(
    stages
      .command('purge')
      .description(
        'forget stored stages and final images (of --project P, or all), then collect garbage; with --repo: delete the stages of a stages repository (a stage shared by projects, same signature, counts as the project that published it first)',
      )
      .option('--project <name>', 'only this project'),
  ).action(async (flags: RepoFlags & { project?: string }) => {
    if (flags.repo) {
      const { repo, client } = remote(flags);
      await withAbort(async (signal) => {
        const removed = await purgeRepositoryStages({ registry: client, repo, signal }, flags.project);
        process.stdout.write(`removed ${removed} stages from ${flags.repo}\n`);
      });
      return;
    }
    const r = await purgeStages(homePaths(), flags.project);
    process.stdout.write(`removed ${r.refs} references and ${r.blobs} blobs (${formatSize(r.freedBytes)})\n`);
  });
}
