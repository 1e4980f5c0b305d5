// argv -> command. The only place that prints results and errors and decides exit codes.
//
// Start-up is the floor of every command, so only the command being run is loaded: its module (and
// through it the library) is imported when argv names it. `--version`, and argv naming no known
// command, pay for commander alone / for every command (help and "did you mean" need them all).
import { Command, CommanderError } from 'commander';
import { readFileSync } from 'node:fs';

/** Registers a command module's commands; argv (the command line) lets it leave out subcommands it does not name. */
type Register = (program: Command, argv?: string[]) => void;

/** Top-level command name -> the module that registers it (some modules register several). */
const COMMANDS: Record<string, () => Promise<Register>> = {
  build: async () => (await import('./commands/build.js')).registerBuild,
  plan: async () => (await import('./commands/build.js')).registerBuild,
  run: async () => (await import('./commands/run.js')).registerRun,
  config: async () => (await import('./commands/config.js')).registerConfig,
  render: async () => (await import('./commands/config.js')).registerConfig,
  stages: async () => (await import('./commands/stages.js')).registerStages,
  doctor: async () => (await import('./commands/doctor.js')).registerDoctor,
  image: async () => (await import('./commands/image.js')).registerImage,
  login: async () => (await import('./commands/login.js')).registerLogin,
  logout: async () => (await import('./commands/login.js')).registerLogin,
  bundle: async () => (await import('./commands/bundle.js')).registerBundle,
  stapel: async () => (await import('./commands/stapel.js')).registerStapel,
};

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/** The command argv runs, or undefined when it names none (help, --version, a typo). */
export function commandOf(argv: string[]): string | undefined {
  const first = argv[2];
  return first !== undefined && Object.hasOwn(COMMANDS, first) ? first : undefined;
}

/**
 * The program with the commands `only` needs: `only` registers that command's module alone; an
 * empty list registers none (enough for --version); undefined registers every command. With argv, a
 * module may register only the subcommand argv names (`image push`: push alone); help and errors for
 * that command line read the same either way.
 */
export async function createProgram(only?: string[], argv?: string[]): Promise<Command> {
  const program = new Command('tsbuild')
    .description('Daemonless, rootless OCI image builder for werf.yaml (stapel) projects')
    .version(version())
    .showHelpAfterError()
    .exitOverride();
  const names = only ?? Object.keys(COMMANDS);
  const registers = new Set(await Promise.all(names.map((n) => COMMANDS[n]!())));
  for (const register of registers) register(program, argv);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export async function main(argv: string[]): Promise<void> {
  try {
    const command = commandOf(argv);
    const isVersion = argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V');
    const program = await createProgram(command ? [command] : isVersion ? [] : undefined, command ? argv : undefined);
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    // Loaded here: most runs print no error.
    const { reportError } = await import('./report-error.js');
    process.exitCode = reportError(err);
  }
}
