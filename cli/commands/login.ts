// tsbuild login / logout: check credentials against the registry, then keep them in the auth file
// the credential chain reads first (see lib/registry/auth-file-store.ts for the rule).
import type { Command } from 'commander';
import { TsbuildError } from '../../lib/errors.js';
import { loginKey, loginRegistry, logoutRegistry } from '../../lib/registry/index.js';
import { withAbort } from '../shared.js';

interface LoginFlags {
  username?: string;
  password?: string;
  passwordStdin?: boolean;
  insecureRegistry: string[];
  caCert?: string;
  authfile?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const c of process.stdin as AsyncIterable<Buffer>) {
    total += c.length;
    if (total > 1 << 20) throw new TsbuildError('TSB_USAGE', 'the password on stdin is longer than 1 MiB');
    chunks.push(c);
  }
  // `echo $TOKEN | tsbuild login …` adds a newline that is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function registerLogin(program: Command): void {
  const collect = (v: string, prev: string[]): string[] => [...prev, v];
  program
    .command('login')
    .description(
      'check credentials against a registry and save them (in $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, ' +
        'else $DOCKER_CONFIG/config.json, else ~/.docker/config.json)',
    )
    .argument('<registry>', 'registry host[:port], e.g. registry.example.com or 127.0.0.1:5000')
    .option('-u, --username <user>', 'user name')
    .option('-p, --password <password>', 'password (visible to other users in the process list; prefer --password-stdin)')
    .option('--password-stdin', 'read the password (or token) from stdin')
    .option('--authfile <file>', 'write this auth file instead')
    .option('--insecure-registry <host>', 'reach this registry over plain http (repeatable)', collect, [] as string[])
    .option('--ca-cert <file>', 'extra CA certificates (PEM) to trust')
    .action(async (registryArg: string, flags: LoginFlags) => {
      const key = loginKey(registryArg);
      if (!flags.username) {
        throw new TsbuildError('TSB_USAGE', 'login needs a user name', { hint: `tsbuild login ${key} -u USER --password-stdin` });
      }
      if (flags.password !== undefined && flags.passwordStdin) {
        throw new TsbuildError('TSB_USAGE', '--password and --password-stdin are mutually exclusive');
      }
      let password = flags.password;
      if (flags.passwordStdin) password = await readStdin();
      if (password === undefined) {
        throw new TsbuildError('TSB_USAGE', 'login needs a password', {
          hint: `pipe it in: printf %s "$TOKEN" | tsbuild login ${key} -u ${flags.username} --password-stdin`,
        });
      }
      if (password === '') throw new TsbuildError('TSB_USAGE', 'the password is empty', { hint: 'check the variable you pipe into --password-stdin' });
      const username = flags.username;
      const res = await withAbort((signal) =>
        loginRegistry({
          registry: registryArg,
          username,
          password,
          authFile: flags.authfile,
          insecureRegistries: flags.insecureRegistry,
          caFile: flags.caCert,
          signal,
        }),
      );
      if (res.mode === 'anonymous') process.stderr.write(`warning: ${res.host} did not ask for credentials; they were saved but not verified\n`);
      if (res.shadowedByHelper) {
        process.stderr.write(
          `warning: ${res.path} names the credential helper "${res.shadowedByHelper}" for ${res.key}; it is consulted before these credentials\n`,
        );
      }
      process.stdout.write(`Login Succeeded (credentials for ${res.key} saved in ${res.path})\n`);
    });

  program
    .command('logout')
    .description('remove the saved credentials of a registry (from the file `tsbuild login` writes, or --authfile)')
    .argument('<registry>', 'registry host[:port]')
    .option('--authfile <file>', 'remove from this auth file instead')
    .action(async (registryArg: string, flags: { authfile?: string }) => {
      const { key, path, removed, stillSavedIn: elsewhere } = await logoutRegistry({ registry: registryArg, authFile: flags.authfile });
      if (removed) process.stdout.write(`Removed login credentials for ${key} from ${path}\n`);
      if (elsewhere.length > 0) {
        throw new TsbuildError(
          'TSB_REGISTRY_UNAUTHORIZED',
          `credentials for ${key} are still saved in ${elsewhere.join(', ')}, and tsbuild will keep using them`,
          {
            hint: `remove them with the tool that wrote them (docker logout / podman logout ${key}) or run: tsbuild logout ${key} --authfile ${elsewhere[0]}`,
          },
        );
      }
      if (!removed) process.stdout.write(`Not logged in to ${key} (nothing saved in ${path})\n`);
    });
}
