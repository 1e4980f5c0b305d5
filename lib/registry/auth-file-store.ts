// Writing credentials for `tsbuild login`/`logout`. One rule decides the file: the first of the
// files the credential chain reads (authFilePaths), so what login writes is what is read first:
// $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json, else $DOCKER_CONFIG/config.json,
// else ~/.docker/config.json. Other keys of the file are kept; the write is atomic and mode 0600.
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { basename, dirname } from 'node:path';
import { atomicWriteFile } from '../internal/atomic-write.js';
import { TsbuildError } from '../errors.js';
import { DOCKER_HUB } from '../oci/index.js';
import { authFilePaths, normalizeAuthKey } from './credentials.js';

type AuthFileDocument = Record<string, unknown> & { auths?: Record<string, unknown>; credHelpers?: Record<string, string> };

/** The file `tsbuild login` writes to (see the rule above). */
export function loginAuthFile(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return authFilePaths(env, home)[0]!;
}

/** "https://host:5000/" → "host:5000"; Hub aliases → docker.io; a repository path is kept. */
export function loginKey(registry: string): string {
  const key = normalizeAuthKey(registry);
  if (!key || /\s/.test(key) || key.startsWith('/')) {
    throw new TsbuildError('TSB_USAGE', `"${registry}" is not a registry name`, { hint: 'give HOST[:PORT], e.g. tsbuild login registry.example.com' });
  }
  return key;
}

async function readDocument(path: string): Promise<AuthFileDocument | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  if (text.trim() === '') return {};
  try {
    const doc = JSON.parse(text) as unknown;
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw new Error('not a JSON object');
    return doc as AuthFileDocument;
  } catch (err) {
    throw new TsbuildError('TSB_REGISTRY_UNAUTHORIZED', `${path} is not a valid auth file: ${(err as Error).message}`, {
      hint: 'fix or remove the file, then log in again',
      cause: err,
    });
  }
}

/** Replace the file atomically; credentials never exist on disk with a mode wider than 0600. */
async function writeDocument(path: string, doc: AuthFileDocument): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await atomicWriteFile(path, `${JSON.stringify(doc, null, '\t')}\n`, { mode: 0o600 });
}

/** Docker's own CLI only finds Hub credentials under its legacy URL in config.json. */
function entryKey(path: string, key: string): string {
  return key === DOCKER_HUB && basename(path) === 'config.json' ? 'https://index.docker.io/v1/' : key;
}

export interface SaveResult {
  path: string;
  /** A credential helper configured for this registry in the same file takes precedence when reading. */
  shadowedByHelper?: string;
}

/** Store USER:PASS for `registry` in `path` (replacing any entry that names the same registry). */
export async function saveAuthFileCredential(path: string, registry: string, username: string, password: string): Promise<SaveResult> {
  const key = loginKey(registry);
  const doc = (await readDocument(path)) ?? {};
  const auths: Record<string, unknown> = doc.auths && typeof doc.auths === 'object' ? { ...doc.auths } : {};
  for (const k of Object.keys(auths)) if (normalizeAuthKey(k) === key) delete auths[k];
  auths[entryKey(path, key)] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  doc.auths = auths;
  await writeDocument(path, doc);
  const helper = Object.entries(doc.credHelpers ?? {}).find(([k]) => normalizeAuthKey(k) === key)?.[1];
  return helper ? { path, shadowedByHelper: helper } : { path };
}

/** Remove the entries for `registry` from `path`; whether there was one. */
export async function removeAuthFileCredential(path: string, registry: string): Promise<boolean> {
  const key = loginKey(registry);
  const doc = await readDocument(path);
  if (!doc?.auths || typeof doc.auths !== 'object') return false;
  const auths = { ...doc.auths };
  const keys = Object.keys(auths).filter((k) => normalizeAuthKey(k) === key);
  if (keys.length === 0) return false;
  for (const k of keys) delete auths[k];
  doc.auths = auths;
  await writeDocument(path, doc);
  return true;
}

/** Auth files (in reading order) that hold an `auths` entry for `registry`. */
export async function authFilesWithEntry(registry: string, env: NodeJS.ProcessEnv = process.env, home: string = homedir()): Promise<string[]> {
  const key = loginKey(registry);
  const out: string[] = [];
  for (const path of authFilePaths(env, home)) {
    const doc = await readDocument(path).catch(() => undefined);
    if (doc?.auths && typeof doc.auths === 'object' && Object.keys(doc.auths).some((k) => normalizeAuthKey(k) === key)) out.push(path);
  }
  return out;
}
