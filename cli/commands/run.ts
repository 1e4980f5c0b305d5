// tsbuild run IMAGE [-- ARGS...]: run a built final image in the sandbox with `docker run`'s rules;
// exit with its exit code.
import type { Command } from 'commander';
import { homePaths, runImage } from '../../lib/index.js';
import { TsbuildError } from '../../lib/errors.js';
import { createRuntime, prepareRuntime, SANDBOX_FLAG, SNAPSHOTTER_FLAG } from '../runtime-factory.js';
import { registryClient, withAbort } from '../shared.js';
import { resolveWorkdir } from '../../runtime/resolve-workdir.js';

interface RunFlags {
  dir: string;
  config?: string;
  network: string;
  sandbox?: string;
  snapshotter?: string;
  repo?: string;
  insecureRegistry: string[];
  entrypoint?: string;
  env: string[];
  workdir?: string;
  user?: string;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** -e KEY=VALUE as given; -e KEY takes KEY from this environment and is left out when it is unset (Docker). */
function envEntries(flags: string[], hostEnv: NodeJS.ProcessEnv): string[] {
  const out: string[] = [];
  for (const e of flags) {
    const eq = e.indexOf('=');
    const key = eq < 0 ? e : e.slice(0, eq);
    if (!/^[^\s=]+$/.test(key)) throw new TsbuildError('TSB_USAGE', `-e "${e}": not KEY=VALUE or KEY`);
    if (eq >= 0) out.push(e);
    else if (hostEnv[key] !== undefined) out.push(`${key}=${hostEnv[key]}`);
  }
  return out;
}

export function registerRun(program: Command): void {
  // docker run [OPTIONS] IMAGE [COMMAND] [ARG...]: whatever follows IMAGE is the command's, options too.
  program.enablePositionalOptions();
  program
    .command('run')
    .passThroughOptions()
    .description(
      'run the final image of IMAGE (built by `tsbuild build`) in the sandbox, as `docker run --rm` would: ' +
        "ARGS replace the image's CMD (after its ENTRYPOINT); stdin, stdout and stderr are the caller's; nothing of the run is kept; " +
        "the exit code is the command's (127: not found, 126: not executable)",
    )
    .usage('[options] IMAGE [ARGS...]')
    .argument('<image>', 'image name from werf.yaml ("~" for a nameless image)')
    .argument('[args...]', "replace the image's CMD: everything after IMAGE, options included (a leading -- is dropped)")
    .option('--dir <dir>', 'project directory', process.cwd())
    .option('--config <file>', 'config file')
    .option('--entrypoint <cmd>', 'replace the image\'s ENTRYPOINT (and drop its CMD, as Docker does); "" clears it')
    .option('-e, --env <KEY[=VALUE]>', 'set an environment variable; KEY alone passes its value from this environment (repeatable)', collect, [] as string[])
    .option('-w, --workdir <dir>', 'working directory inside the image (absolute; created if missing)')
    .option('-u, --user <user>', "user[:group] as a name or a number, resolved with the image's /etc/passwd and /etc/group")
    .option('--network <mode>', 'host | none', 'host')
    .option('--rm', "accepted for docker habits: tsbuild never keeps a run's container or changes")
    .option('-i, --interactive', 'accepted for docker habits: stdin is always passed through')
    .option('-t, --tty', 'accepted for docker habits: the command gets this terminal as it is')
    .option('--repo <registry/name>', 'stages repository the image was built with: layers missing locally are fetched from it')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
    .option(...SANDBOX_FLAG)
    .option(...SNAPSHOTTER_FLAG)
    .action(async (imageName: string, rest: string[], flags: RunFlags) => {
      const args = rest[0] === '--' ? rest.slice(1) : rest;
      const home = homePaths();
      const setEnv = envEntries(flags.env, process.env);
      process.exitCode = await withAbort((signal) =>
        runImage({
          dir: flags.dir,
          ...(flags.config ? { config: flags.config } : {}),
          home,
          imageName: imageName === '~' ? '' : imageName,
          command: args,
          entrypoint: flags.entrypoint,
          setEnv,
          workdir: flags.workdir,
          user: flags.user,
          network: flags.network === 'none' ? 'none' : 'host',
          ...(flags.repo ? { repo: flags.repo, registry: registryClient(flags.insecureRegistry) } : {}),
          async createRuntime(store) {
            const prepared = await prepareRuntime(flags);
            return 'exitCode' in prepared ? prepared : { ...createRuntime(home, store, prepared.choice), resolveWorkdir };
          },
          signal,
        }),
      );
    });
}
