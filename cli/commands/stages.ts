// tsbuild stages list: the stage images kept in the local store.
import type { Command } from 'commander';
import { homePaths, openStore } from '../../lib/index.js';
import { LocalStagesStorage } from '../../lib/storage/index.js';
import { shortSignature } from '../../lib/conveyor/index.js';
import { table } from '../output.js';

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
}
