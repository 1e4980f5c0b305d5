// A hostile base image for limit tests: one gzip layer of a few hundred KB that expands to a tar
// holding one file of `expandTo` zero bytes (concatenated gzip members of 64 MiB of zeros each).
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { LayoutStore } from '../../lib/content/index.js';
import { MediaType, type Descriptor } from '../../lib/oci/index.js';

const CHUNK = 64 << 20;

function tarHeader(name: string, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(name, 0, 'utf8');
  h.write('0000644\0', 100);
  h.write('0000000\0', 108);
  h.write('0000000\0', 116);
  h.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  h.write('00000000000\0', 136);
  h.write('        ', 148);
  h.write('0', 156);
  h.write('ustar\0', 257);
  h.write('00', 263);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return h;
}

/** Writes the bomb image into `store` and returns its manifest descriptor. */
export async function writeGzipBombImage(store: LayoutStore, expandTo: number): Promise<{ manifest: Descriptor; layerDigest: string }> {
  if (expandTo % CHUNK !== 0) throw new Error('expandTo must be a multiple of 64 MiB');
  const header = tarHeader('bomb', expandTo);
  const zeros = Buffer.alloc(CHUNK);
  const zeroMember = gzipSync(zeros, { level: 9 });
  const trailer = Buffer.alloc(1024);
  const diff = createHash('sha256').update(header);
  for (let i = 0; i < expandTo / CHUNK; i++) diff.update(zeros);
  diff.update(trailer);
  const parts = [gzipSync(header), ...Array.from({ length: expandTo / CHUNK }, () => zeroMember), gzipSync(trailer)];
  const layer = await store.writeBytes(Buffer.concat(parts));
  const config = await store.writeJson({
    architecture: 'amd64',
    os: 'linux',
    config: { Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: [`sha256:${diff.digest('hex')}`] },
  });
  const manifest = await store.writeJson({
    schemaVersion: 2,
    mediaType: MediaType.OciManifest,
    config: { mediaType: MediaType.OciConfig, digest: config.info.digest, size: config.info.size },
    layers: [{ mediaType: MediaType.OciLayerGzip, digest: layer.digest, size: layer.size }],
  });
  return { manifest: { mediaType: MediaType.OciManifest, digest: manifest.info.digest, size: manifest.info.size }, layerDigest: layer.digest };
}
