// The floor of a mounting push in node, for scripts/bench/transfer: a bare node process that sends
// only the requests of a push whose blobs are all mounted (GET /v2/, then per blob a HEAD and a
// cross-repository mount, then the manifest PUT) over plain HTTP/1.1 sockets, with nothing else: no
// CLI, no store, no verification, no TLS probe, no blob-info cache. What tsbuild adds to a mounting
// push is measured against it; skopeo's time against it is what a Go binary's start-up saves.
// Not a client: it knows docker-registry's answers on a loopback registry and fails on anything else.
//
//   node scripts/bench/mount-floor.cjs HOST:PORT FROM-REPO TO-REPO:TAG MANIFEST-FILE
'use strict';
const { connect } = require('node:net');
const { readFileSync } = require('node:fs');

const [hostPort, from, target, manifestFile] = process.argv.slice(2);
const [repo, tag] = target.split(':');
const [host, port] = hostPort.split(':');
const manifest = readFileSync(manifestFile);
const document = JSON.parse(manifest.toString('utf8'));
const blobs = [document.config.digest, ...document.layers.map((l) => l.digest)];

function open() {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port: Number(port), noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** One request on a kept-alive socket; resolves with the status once the whole answer is in. */
function send(socket, method, path, headers = {}, body) {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk) => {
      got = Buffer.concat([got, chunk]);
      const end = got.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = got.subarray(0, end).toString('latin1');
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (method !== 'HEAD' && got.length - end - 4 < Number(length ? length[1] : 0)) return;
      socket.off('data', onData);
      resolve(Number(head.slice(9, 12)));
    };
    socket.on('data', onData);
    socket.once('error', reject);
    const lines = [`${method} ${path} HTTP/1.1`, `Host: ${hostPort}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`)];
    socket.write(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
    if (body) socket.write(body);
  });
}

function expect(status, wanted, what) {
  if (status !== wanted) throw new Error(`${what}: HTTP ${status}, expected ${wanted}`);
}

async function main() {
  const first = await open();
  expect(await send(first, 'GET', '/v2/'), 200, 'GET /v2/');
  const sockets = [first, ...(await Promise.all(blobs.slice(1).map(open)))];
  await Promise.all(
    blobs.map(async (digest, i) => {
      const socket = sockets[i];
      expect(await send(socket, 'HEAD', `/v2/${repo}/blobs/${digest}`), 404, `HEAD ${digest}`);
      const mount = `/v2/${repo}/blobs/uploads/?mount=${digest}&from=${encodeURIComponent(from)}`;
      expect(await send(socket, 'POST', mount, { 'Content-Length': '0' }), 201, `mount ${digest}`);
    }),
  );
  const put = await send(first, 'PUT', `/v2/${repo}/manifests/${tag}`, { 'Content-Type': document.mediaType, 'Content-Length': String(manifest.length) }, manifest);
  expect(put, 201, 'PUT manifest');
  for (const s of sockets) s.destroy();
}

main().catch((err) => {
  process.stderr.write(`mount-floor: ${err.message}\n`);
  process.exit(1);
});
