// tsbuild stages list: the stage images kept in the local store.
import type { Command } from 'commander';
import { join } from 'node:path';
import { homePaths, openStore } from '../../lib/index.js';
import { gcStore } from '../../lib/content/index.js';
import { ANNOTATION } from '../../lib/storage/index.js';
import { LocalStagesStorage } from '../../lib/storage/index.js';
import { shortSignature } from '../../lib/conveyor/index.js';
import { formatSize, table } from '../output.js';

export function registerStages(program: Command): void {
  const stages = program.command('stages').description('manage stored stages');
  stages
    .command('list')
    .description('list stored stages (all projects, or --project P)')
    .option('--project <name>', 'only this project')
    .action(async (flags: { project?: string }) => {
      const store = await openStore(homePaths());
      const all = await new LocalStagesStorage(store, flags.project ?? '').list(!flags.project);
      const rows = [['PROJECT', 'IMAGE', 'STAGE', 'SIGNATURE', 'DIGEST', 'CREATED']];
      for (const s of all.sort((a, b) => a.created.localeCompare(b.created))) {
        rows.push([s.project, s.imageName || '~', s.stage, shortSignature(s.signature), s.descriptor.digest.slice(7, 19), s.created]);
      }
      process.stdout.write(`${table(rows)}\n`);
    });
  stages
    .command('gc')
    .description('delete blobs no stage, base or final image refers to (safe while builds run)')
    .option('--dry-run', 'only report what would be deleted')
    .action(async (flags: { dryRun?: boolean }) => {
      const home = homePaths();
      const store = await openStore(home);
      const r = await gcStore(store, join(home.locks, 'leases'), { dryRun: !!flags.dryRun });
      process.stdout.write(`${flags.dryRun ? 'would remove' : 'removed'} ${r.removed} blobs (${formatSize(r.freedBytes)}), kept ${r.kept}\n`);
    });
  stages
    .command('purge')
    .description('forget stored stages and final images (of --project P, or all), then collect garbage')
    .option('--project <name>', 'only this project')
    .action(async (flags: { project?: string }) => {
      const home = homePaths();
      const store = await openStore(home);
      const removed = await store.removeRefs((_name, d) => {
        const a = d.annotations ?? {};
        const kind = a[ANNOTATION.kind];
        if (kind !== 'stage' && kind !== 'final') return false;
        return !flags.project || a[ANNOTATION.project] === flags.project;
      });
      const r = await gcStore(store, join(home.locks, 'leases'));
      process.stdout.write(`removed ${removed} references and ${r.removed} blobs (${formatSize(r.freedBytes)})\n`);
    });
}
