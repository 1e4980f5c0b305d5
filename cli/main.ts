// argv -> command. The only place that prints results and errors and decides exit codes.
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';
import { registerBuild } from './commands/build.js';
import { registerRun } from './commands/run.js';
import { registerConfig } from './commands/config.js';
import { registerStages } from './commands/stages.js';
import { registerDoctor } from './commands/doctor.js';
import { registerImage } from './commands/image.js';
import { registerLogin } from './commands/login.js';
import { registerBundle } from './commands/bundle.js';
import { registerStapel } from './commands/stapel.js';
import { reportError } from './output.js';

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function createProgram(): Command {
  const program = new Command('tsbuild')
    .description('Daemonless, rootless OCI image builder for werf.yaml (stapel) projects')
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  registerBuild(program);
  registerRun(program);
  registerConfig(program);
  registerStages(program);
  registerDoctor(program);
  registerImage(program);
  registerLogin(program);
  registerBundle(program);
  registerStapel(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.exitCode = reportError(err);
  }
}
