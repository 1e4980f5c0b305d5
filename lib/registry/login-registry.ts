// `tsbuild login` / `logout` as library calls. Credentials are checked against the registry before
// they are saved, so a wrong password never reaches the auth file; a logout reports the other auth
// files that still hold the registry's credentials, which the credential chain would go on using.
import { authFilesWithEntry, loginAuthFile, loginKey, removeAuthFileCredential, saveAuthFileCredential } from './auth-file-store.js';
import { checkCredentials } from './check-credentials.js';
import { staticCredentials } from './credentials.js';
import { RegistryClient } from './registry-client.js';

export interface LoginOptions {
  /** HOST[:PORT]; a URL or a Hub alias is normalised as `docker login` does (loginKey). */
  registry: string;
  username: string;
  password: string;
  /** Save in this auth file instead of the one the credential chain reads first. */
  authFile?: string | undefined;
  insecureRegistries?: string[] | undefined;
  /** Extra CA certificates (PEM) to trust. */
  caFile?: string | undefined;
  signal?: AbortSignal | undefined;
}

export interface LoginResult {
  /** The auth file entry's key. */
  key: string;
  /** The registry asked. */
  host: string;
  /** The auth file written. */
  path: string;
  /** 'anonymous': the registry asked for no credentials, so they were saved unverified. */
  mode: 'authenticated' | 'anonymous';
  /** A credential helper that file names for this registry; it is asked before the saved credentials. */
  shadowedByHelper?: string | undefined;
}

export async function loginRegistry(options: LoginOptions): Promise<LoginResult> {
  const key = loginKey(options.registry);
  const host = key.split('/')[0]!;
  const client = new RegistryClient({
    insecureRegistries: options.insecureRegistries ?? [],
    credentials: staticCredentials({ username: options.username, password: options.password }, [host]),
    ...(options.caFile ? { caFile: options.caFile } : {}),
  });
  let mode: LoginResult['mode'];
  try {
    mode = await checkCredentials(client, host, { signal: options.signal });
  } finally {
    await client.close();
  }
  const path = options.authFile ?? loginAuthFile();
  const saved = await saveAuthFileCredential(path, key, options.username, options.password);
  return { key, host, path, mode, shadowedByHelper: saved.shadowedByHelper };
}

export interface LogoutResult {
  key: string;
  /** The auth file the credentials were removed from. */
  path: string;
  /** Whether that file held any. */
  removed: boolean;
  /** Other auth files of the credential chain that still hold credentials for the registry. */
  stillSavedIn: string[];
}

export async function logoutRegistry(options: { registry: string; authFile?: string | undefined }): Promise<LogoutResult> {
  const key = loginKey(options.registry);
  const path = options.authFile ?? loginAuthFile();
  const removed = await removeAuthFileCredential(path, key);
  const stillSavedIn = (await authFilesWithEntry(key)).filter((p) => p !== path);
  return { key, path, removed, stillSavedIn };
}
