// Launches Debian's docker-registry (distribution 2.8) on a free 127.0.0.1 port with throw-away
// filesystem storage, for integration tests. Optional htpasswd (bcrypt) basic auth.
//
// The registry runs under a tiny sh wrapper that kills it as soon as the wrapper's stdin closes.
// The parent holds the write end of that pipe, so even if the test process is SIGKILLed the kernel
// closes the pipe and the registry goes away: no process is left behind.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { selfSignedCert } from './self-signed-cert.js';

const execFileP = promisify(execFile);

export interface StartRegistryOptions {
  htpasswd?: { user: string; password: string };
  /** Extra YAML appended under the top level (e.g. a token auth section replaces htpasswd). */
  authYaml?: string;
  /** Serve https with a self-signed certificate for 127.0.0.1 (its PEM is RunningRegistry.caFile). */
  tls?: boolean;
}

export interface RunningRegistry {
  /** 127.0.0.1:PORT */
  host: string;
  stop(): Promise<void>;
  /** Temp directory holding config, storage and the log. */
  dir: string;
  logPath: string;
  /** With tls: the certificate to trust (SSL_CERT_FILE / --ca-cert). */
  caFile?: string;
}

const REGISTRY_BIN = process.env.TSBUILD_TEST_REGISTRY_BIN ?? '/usr/bin/docker-registry';

// Registry pids still running; killed synchronously if the test process exits without stop().
const live = new Set<number>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const pid of live) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function configYaml(dir: string, port: number, auth: string, tls = false): string {
  return [
    'version: 0.1',
    'log:',
    '  level: info',
    '  formatter: text',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    '  maintenance:',
    '    uploadpurging:',
    '      enabled: false',
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '  headers:',
    '    X-Content-Type-Options: [nosniff]',
    ...(tls ? ['  tls:', `    certificate: ${join(dir, 'cert.pem')}`, `    key: ${join(dir, 'key.pem')}`] : []),
    auth,
    '',
  ].join('\n');
}

/** GET /v2/ until the registry answers (any HTTP status counts: 401 means it is up with auth). */
// The limit only catches a registry that never answers while running: a loaded machine may take
// many seconds to start one (an exit is reported at once).
async function waitReady(host: string, child: ChildProcess, logPath: string, tls = false, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      const log = await readFile(logPath, 'utf8').catch(() => '');
      throw new Error(`docker-registry exited before it was ready (log ${logPath}):\n${log.slice(-2000)}`);
    }
    const status = await new Promise<number | undefined>((resolve) => {
      const req = (tls ? httpsRequest : httpRequest)(
        `${tls ? 'https' : 'http'}://${host}/v2/`,
        { method: 'GET', timeout: 1000, ...(tls ? { rejectUnauthorized: false } : {}) },
        (res) => {
          res.resume();
          resolve(res.statusCode);
        },
      );
      req.on('error', () => resolve(undefined));
      req.on('timeout', () => req.destroy());
      req.end();
    });
    if (status === 200 || status === 401) return;
    if (Date.now() > deadline) throw new Error(`docker-registry on ${host} not ready after ${timeoutMs} ms (log ${logPath})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

// $1 = binary, $2 = config, $3 = temp dir. stdin of an async command in a non-interactive sh is
// /dev/null, so only `cat` reads the pipe; on EOF the registry is killed and its temp dir removed.
const WRAPPER = '"$1" serve "$2" & p=$!; echo "$p"; cat >/dev/null; kill "$p" 2>/dev/null; wait "$p"; rm -rf "$3"; exit 0';

export async function startRegistry(opts: StartRegistryOptions = {}): Promise<RunningRegistry> {
  installExitHook();
  const dir = await mkdtemp(join(tmpdir(), 'tsbuild-registry-'));
  const logPath = join(dir, 'registry.log');
  let auth = '';
  let htpasswdLine = '';
  if (opts.htpasswd) {
    const { stdout } = await execFileP('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]);
    htpasswdLine = stdout.trim() + '\n';
    await writeFile(join(dir, 'htpasswd'), htpasswdLine, { mode: 0o600 });
    auth = ['auth:', '  htpasswd:', '    realm: tsbuild-test', `    path: ${join(dir, 'htpasswd')}`].join('\n');
  } else if (opts.authYaml) {
    auth = opts.authYaml;
  }
  if (opts.tls) {
    await selfSignedCert(dir, '/CN=127.0.0.1', 'IP:127.0.0.1');
  }
  let lastErr: unknown;
  // The free port can be taken between probing and binding: retry a few times.
  for (let attempt = 0; attempt < 4; attempt++) {
    const port = await freePort();
    const host = `127.0.0.1:${port}`;
    const configPath = join(dir, 'config.yml');
    await writeFile(configPath, configYaml(dir, port, auth, !!opts.tls));
    const logFd = openSync(logPath, 'a');
    const child = spawn('/bin/sh', ['-c', WRAPPER, 'registry-wrapper', REGISTRY_BIN, configPath, dir], {
      stdio: ['pipe', 'pipe', logFd],
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir },
    });
    closeSync(logFd);
    child.stdin!.on('error', () => undefined);
    // The registry's own stdout/stderr go to the log through fd inheritance: sh's fd 2 is the log,
    // and `serve` logs to stderr. Its pid is the first line of the wrapper's stdout.
    const pid = await new Promise<number | undefined>((resolve) => {
      let buf = '';
      child.stdout!.on('data', (d: Buffer) => {
        buf += d.toString();
        const nl = buf.indexOf('\n');
        if (nl >= 0) resolve(Number(buf.slice(0, nl)));
      });
      child.once('exit', () => resolve(undefined));
    });
    if (pid !== undefined && Number.isInteger(pid)) live.add(pid);
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) resolve();
      else child.once('exit', () => resolve());
    });
    const stopChild = async (): Promise<void> => {
      child.stdin!.end();
      const timer = setTimeout(() => {
        if (pid !== undefined) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
        child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
      if (pid !== undefined) live.delete(pid);
    };
    try {
      await waitReady(host, child, logPath, !!opts.tls);
    } catch (err) {
      lastErr = err;
      const log = await readFile(logPath, 'utf8').catch(() => '');
      await stopChild();
      if (/address already in use/.test(log)) {
        // the wrapper removed the temp dir on its way out
        await mkdir(dir, { recursive: true });
        if (opts.htpasswd) await writeFile(join(dir, 'htpasswd'), htpasswdLine, { mode: 0o600 });
        continue;
      }
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    let stopped: Promise<void> | undefined;
    return {
      host,
      dir,
      logPath,
      ...(opts.tls ? { caFile: join(dir, 'cert.pem') } : {}),
      stop: () => {
        stopped ??= (async () => {
          await stopChild();
          await rm(dir, { recursive: true, force: true });
        })();
        return stopped;
      },
    };
  }
  await rm(dir, { recursive: true, force: true });
  throw lastErr instanceof Error ? lastErr : new Error('could not start docker-registry');
}

// ---- fault-injecting proxy ----
// An in-process HTTP proxy in front of a real registry that can answer, cut, corrupt or redirect
// chosen requests. It forwards the Host header unchanged so the registry's upload Locations point
// back at the proxy.
