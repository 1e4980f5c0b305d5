// A registry on 127.0.0.1, in memory, for one purpose: the code-cache warm-up of the image-transfer
// bundle (bin/cli-cache.cjs) runs a real `tsbuild image pull` and real pushes against it, so the code
// those commands run is compiled into the cache rather than at every start. It is NOT a test double
// and nothing else uses it: tests run against Debian's docker-registry.
//
// The distribution API a pull and a push use, and no more: the /v2/ ping, blob HEAD/GET, uploads
// (POST, then one PUT ?digest= or PATCH chunks and a closing PUT), cross-repository mounts, and
// manifest HEAD/GET/PUT, with digests checked. Mounts into a repository named `upload` are refused
// (answered with an upload session, as a registry that cannot mount does), so one warm-up push
// uploads and another mounts. One image is served from the start: warm-up/base:1.
'use strict';
const { createHash } = require('node:crypto');
const http = require('node:http');
const { gzipSync } = require('node:zlib');

const sha256 = (bytes) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

/** Starts the registry; resolves to { host: '127.0.0.1:PORT', close() }. */
function startWarmUpRegistry() {
  const blobs = new Map(); // digest -> bytes (one store: every repository may mount every blob)
  const repos = new Map(); // repository -> { blobs: Set<digest>, manifests: Map<tag|digest, { type, bytes }> }
  const uploads = new Map(); // session id -> Buffer[]
  let sessions = 0;
  const repo = (name) => {
    if (!repos.has(name)) repos.set(name, { blobs: new Set(), manifests: new Map() });
    return repos.get(name);
  };

  // The served image: an empty tar layer (two zero blocks), gzipped, and its config.
  const tar = Buffer.alloc(1024);
  const layer = gzipSync(tar);
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: [sha256(tar)] } }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
    }),
  );
  const base = repo('warm-up/base');
  for (const b of [layer, config]) {
    blobs.set(sha256(b), b);
    base.blobs.add(sha256(b));
  }
  base.manifests.set('1', { type: OCI_MANIFEST, bytes: manifest });
  base.manifests.set(sha256(manifest), { type: OCI_MANIFEST, bytes: manifest });

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url, 'http://registry');
      const send = (status, headers = {}, body) => {
        res.writeHead(status, { 'content-length': body ? body.length : 0, ...headers });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      if (url.pathname === '/v2/') return send(200, { 'content-type': 'application/json' }, Buffer.from('{}'));
      const m = /^\/v2\/(.+)\/(blobs\/uploads|blobs|manifests)\/(.*)$/.exec(url.pathname);
      if (!m) return send(404);
      const [, name, kind, rest] = m;
      const r = repo(name);
      const session = (id) => ({ location: `/v2/${name}/blobs/uploads/${id}`, range: `0-${Math.max(0, Buffer.concat(uploads.get(id)).length - 1)}` });
      if (kind === 'blobs' && (req.method === 'HEAD' || req.method === 'GET')) {
        const bytes = r.blobs.has(rest) ? blobs.get(rest) : undefined;
        if (!bytes) return send(404);
        return send(200, { 'content-type': 'application/octet-stream', 'docker-content-digest': rest }, bytes);
      }
      if (kind === 'blobs/uploads' && req.method === 'POST') {
        const from = url.searchParams.get('mount');
        if (from && blobs.has(from) && !name.endsWith('/upload')) {
          r.blobs.add(from);
          return send(201, { location: `/v2/${name}/blobs/${from}`, 'docker-content-digest': from });
        }
        const id = String(++sessions);
        uploads.set(id, []);
        return send(202, { location: session(id).location, range: '0-0', 'docker-upload-uuid': id });
      }
      if (kind === 'blobs/uploads' && uploads.has(rest) && (req.method === 'PATCH' || req.method === 'PUT')) {
        uploads.get(rest).push(...chunks);
        if (req.method === 'PATCH') return send(202, { location: session(rest).location, range: session(rest).range });
        const bytes = Buffer.concat(uploads.get(rest));
        uploads.delete(rest);
        const digest = url.searchParams.get('digest');
        if (digest !== sha256(bytes)) return send(400, { 'content-type': 'application/json' }, Buffer.from('{"errors":[{"code":"DIGEST_INVALID"}]}'));
        blobs.set(digest, bytes);
        r.blobs.add(digest);
        return send(201, { location: `/v2/${name}/blobs/${digest}`, 'docker-content-digest': digest });
      }
      if (kind === 'manifests' && (req.method === 'HEAD' || req.method === 'GET')) {
        const found = r.manifests.get(rest);
        if (!found) return send(404, { 'content-type': 'application/json' }, Buffer.from('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}'));
        return send(200, { 'content-type': found.type, 'docker-content-digest': sha256(found.bytes) }, found.bytes);
      }
      if (kind === 'manifests' && req.method === 'PUT') {
        const bytes = Buffer.concat(chunks);
        const entry = { type: req.headers['content-type'], bytes };
        r.manifests.set(rest, entry);
        r.manifests.set(sha256(bytes), entry);
        return send(201, { location: `/v2/${name}/manifests/${sha256(bytes)}`, 'docker-content-digest': sha256(bytes) });
      }
      return send(405);
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const host = `127.0.0.1:${server.address().port}`;
      const close = () =>
        new Promise((done) => {
          server.close(() => done());
          server.closeAllConnections();
        });
      resolve({ host, close });
    });
  });
}

module.exports = { startWarmUpRegistry };
