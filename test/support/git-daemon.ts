// A real `git daemon` serving git:// on 127.0.0.1, with no port race: a server of this process binds
// port 0 (the kernel picks a free port and it stays ours) and hands every connection, unread, to a
// `git daemon --inetd` of its own, as inetd would. Picking a free port first and letting the daemon
// bind it later can fail when another process (two test files run at once) takes it meanwhile.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface GitDaemon {
  /** 127.0.0.1:PORT, for git://HOST/REPO URLs. */
  host: string;
  stop(): Promise<void>;
}

/** Serve every repository under `basePath` (git daemon --export-all --base-path). */
export async function startGitDaemon(basePath: string, env: NodeJS.ProcessEnv = process.env): Promise<GitDaemon> {
  const children = new Set<ChildProcess>();
  const sockets = new Set<Socket>();
  // pauseOnConnect: this process reads nothing of the connection; the daemon gets every byte.
  const server = createServer({ pauseOnConnect: true }, (sock) => {
    sockets.add(sock);
    sock.on('error', () => undefined);
    const child = spawn('git', ['daemon', '--inetd', '--export-all', `--base-path=${basePath}`, basePath], { stdio: [sock, sock, 'ignore'], env });
    children.add(child);
    const done = (): void => {
      children.delete(child);
      sockets.delete(sock);
      sock.destroy();
    };
    child.once('exit', done);
    child.once('error', done);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    host: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const c of children) c.kill();
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
