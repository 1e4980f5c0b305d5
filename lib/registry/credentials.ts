// Where registry credentials come from: explicit --creds, containers auth.json, Docker's
// config.json (`auths`, `credHelpers`, `credsStore` via the docker-credential-<name> protocol).
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { TsbuildError } from '../errors.js';
import { DOCKER_HUB } from '../oci/index.js';

export type Credential =
  | { username: string; password: string }
  /** An OAuth2 refresh token (Docker's `identitytoken`), exchanged at the token realm. */
  | { identityToken: string };

export interface CredentialProvider {
  /** Credentials for a registry (host[:port] as written in references; docker.io for Hub). */
  get(registry: string, repository?: string): Promise<Credential | undefined>;
}

/** Parse `USER:PASS` (the password may contain colons). */
export function parseCredsFlag(text: string): Credential {
  const i = text.indexOf(':');
  if (i <= 0) {
    throw new TsbuildError('TSB_USAGE', 'credentials must be given as USER:PASS', { hint: 'for example --creds ci-bot:$REGISTRY_TOKEN' });
  }
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

/** The same credential for the named registries (every registry when `registries` is omitted). */
export function staticCredentials(credential: Credential, registries?: string[]): CredentialProvider {
  return {
    get: async (registry) => (registries === undefined || registries.includes(registry) ? credential : undefined),
  };
}

/** First provider that answers wins. */
export function chainCredentials(...providers: CredentialProvider[]): CredentialProvider {
  return {
    async get(registry, repository) {
      for (const p of providers) {
        const c = await p.get(registry, repository);
        if (c) return c;
      }
      return undefined;
    },
  };
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** "https://index.docker.io/v1/" → "docker.io"; "https://host:5000/" → "host:5000"; keeps a repo path. */
export function normalizeAuthKey(key: string): string {
  let k = key
    .trim()
    .replace(/^[a-z]+:\/\//i, '')
    .replace(/\/+$/, '');
  k = k.replace(/\/v[12]$/, '');
  const slash = k.indexOf('/');
  const host = slash < 0 ? k : k.slice(0, slash);
  const rest = slash < 0 ? '' : k.slice(slash);
  const h = host === 'index.docker.io' || host === 'registry-1.docker.io' ? DOCKER_HUB : host;
  return h + rest;
}

function decodeEntry(entry: AuthEntry, where: string): Credential | undefined {
  if (entry.identitytoken) return { identityToken: entry.identitytoken };
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const i = text.indexOf(':');
    if (i <= 0) {
      throw new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `${where}: the "auth" value is not base64 of USER:PASS`, {
        hint: 'log in again to rewrite the entry',
      });
    }
    return { username: text.slice(0, i), password: text.slice(i + 1) };
  }
  if (entry.username !== undefined && entry.password !== undefined) return { username: entry.username, password: entry.password };
  return undefined;
}

/** The server URL a credential helper expects for a registry (Docker Hub keeps its legacy URL). */
function helperServerUrl(registry: string): string {
  return registry === DOCKER_HUB ? 'https://index.docker.io/v1/' : registry;
}

/** Run `docker-credential-<name> get` (stdin: server URL, stdout: {ServerURL, Username, Secret}). */
async function runCredentialHelper(name: string, registry: string, timeoutMs = 30_000): Promise<Credential | undefined> {
  if (!/^[\w.-]+$/.test(name)) {
    throw new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `invalid credential helper name "${name}"`);
  }
  const bin = `docker-credential-${name}`;
  return new Promise((resolve, reject) => {
    const child = spawn(bin, ['get'], { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < 1 << 20) out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 4096) err += d.toString();
    });
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(
        new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `credential helper ${bin} could not be started: ${e.message}`, {
          hint: `install ${bin} or remove it from credHelpers/credsStore in your Docker config`,
          cause: e,
        }),
      );
    });
    child.on('close', (code) => {
      if (code !== 0) {
        // The protocol reports a missing entry as a failure with this message.
        if (/credentials not found/i.test(out + err)) return resolve(undefined);
        return reject(new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `credential helper ${bin} failed (exit ${code}): ${(err || out).trim().slice(0, 300)}`));
      }
      try {
        const parsed = JSON.parse(out) as { Username?: string; Secret?: string };
        if (!parsed.Secret) return resolve(undefined);
        if (parsed.Username === '<token>') return resolve({ identityToken: parsed.Secret });
        resolve({ username: parsed.Username ?? '', password: parsed.Secret });
      } catch {
        reject(new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `credential helper ${bin} printed something that is not JSON`));
      }
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(helperServerUrl(registry));
  });
}

export interface AuthFileCredentialsOptions {
  env?: NodeJS.ProcessEnv;
  home?: string;
  /** Replace the helper runner (tests). */
  runHelper?: (name: string, registry: string) => Promise<Credential | undefined>;
}

/** The auth files consulted, in order: containers auth.json first (podman/skopeo), then Docker's. */
export function authFilePaths(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string[] {
  const paths: string[] = [];
  if (env.REGISTRY_AUTH_FILE) paths.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) paths.push(join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  if (env.DOCKER_CONFIG) paths.push(join(env.DOCKER_CONFIG, 'config.json'));
  paths.push(join(home, '.docker', 'config.json'));
  return paths;
}

async function readAuthFile(path: string): Promise<AuthFile | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as AuthFile;
  } catch (err) {
    throw new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `${path} is not valid JSON`, { hint: 'fix or remove the file', cause: err });
  }
}

/** Credentials from auth.json / config.json files and the credential helpers they name. */
export function authFileCredentials(options: AuthFileCredentialsOptions = {}): CredentialProvider {
  const env = options.env ?? process.env;
  const runHelper = options.runHelper ?? ((name: string, registry: string) => runCredentialHelper(name, registry));
  return {
    async get(registry, repository) {
      const want = normalizeAuthKey(registry);
      for (const path of authFilePaths(env, options.home)) {
        const file = await readAuthFile(path);
        if (!file) continue;
        const helper = file.credHelpers ? Object.entries(file.credHelpers).find(([k]) => normalizeAuthKey(k) === want)?.[1] : undefined;
        if (helper) return runHelper(helper, registry);
        // Most specific key wins: "host/ns/repo" (containers auth.json allows it) before "host".
        let best: { len: number; entry: AuthEntry } | undefined;
        const full = repository ? `${want}/${repository}` : want;
        for (const [key, entry] of Object.entries(file.auths ?? {})) {
          const k = normalizeAuthKey(key);
          if (k === full || k === want || (full.startsWith(`${k}/`) && k.startsWith(`${want}/`))) {
            if (!best || k.length > best.len) best = { len: k.length, entry };
          }
        }
        if (best) {
          const c = decodeEntry(best.entry, path);
          if (c) return c;
        }
        if (file.credsStore) {
          const c = await runHelper(file.credsStore, registry);
          if (c) return c;
        }
      }
      return undefined;
    },
  };
}

/** Anonymous access only. */
export const noCredentials: CredentialProvider = { get: async () => undefined };
