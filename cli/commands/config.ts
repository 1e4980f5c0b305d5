// tsbuild render / config list: show the rendered werf.yaml and the images it defines.
import type { Command } from 'commander';
import { loadConfig, renderConfig } from '../../lib/config/index.js';
import { table } from '../format.js';

export function registerConfig(program: Command): void {
  program
    .command('render')
    .description('print the rendered werf.yaml')
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <file>', 'config file')
    .option('--env <env>', 'werf environment (.Env)')
    .action(async (flags: { dir: string; config?: string; env?: string }) => {
      const { rendered } = await renderConfig({
        dir: flags.dir,
        ...(flags.config ? { config: flags.config } : {}),
        ...(flags.env ? { werfEnv: flags.env } : {}),
      });
      process.stdout.write(rendered.endsWith('\n') ? rendered : `${rendered}\n`);
    });
  const cfg = program.command('config').description('inspect werf.yaml');
  cfg
    .command('list')
    .description('list the images of werf.yaml with their kind and base')
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <file>', 'config file')
    .option('--env <env>', 'werf environment (.Env)')
    .action(async (flags: { dir: string; config?: string; env?: string }) => {
      const config = await loadConfig({ dir: flags.dir, ...(flags.config ? { config: flags.config } : {}), ...(flags.env ? { werfEnv: flags.env } : {}) });
      const rows = [['NAME', 'KIND', 'BASE']];
      for (const i of config.images) {
        rows.push([i.name || '~', i.isArtifact ? 'artifact' : 'image', i.from ?? (i.fromImage ? `image ${i.fromImage}` : `artifact ${i.fromArtifact}`)]);
      }
      process.stdout.write(`${table(rows)}\n`);
    });
}
