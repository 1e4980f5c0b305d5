import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyManifest } from './manifests.js';
import { selectPlatform } from './pull-image.js';
import type { ImageIndex } from '../oci/index.js';

const D = (c: string) => `sha256:${c.repeat(64)}` as const;
const manifest = { schemaVersion: 2, config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D('a'), size: 2 }, layers: [] };

test('media type comes from the document; Content-Type only fills the gap', () => {
  const bytes = Buffer.from(JSON.stringify(manifest));
  assert.equal(
    classifyManifest(bytes, 'application/vnd.docker.distribution.manifest.v2+json', 'm').mediaType,
    'application/vnd.docker.distribution.manifest.v2+json',
  );
  assert.equal(classifyManifest(bytes, 'application/json', 'm').mediaType, 'application/vnd.oci.image.manifest.v1+json');
  const typed = Buffer.from(JSON.stringify({ ...manifest, mediaType: 'application/vnd.oci.image.manifest.v1+json' }));
  assert.throws(() => classifyManifest(typed, 'application/vnd.oci.image.index.v1+json', 'm'), /disagrees/);
});

test('ambiguous, schema 1 and malformed documents are refused', () => {
  const both = Buffer.from(JSON.stringify({ ...manifest, manifests: [] }));
  assert.throws(() => classifyManifest(both, undefined, 'm'), /ambiguous/);
  assert.throws(() => classifyManifest(Buffer.from('{"schemaVersion":1}'), undefined, 'm'), /schema 1/);
  assert.throws(() => classifyManifest(Buffer.from('nope'), undefined, 'm'), /not valid JSON/);
  const badDigest = Buffer.from(JSON.stringify({ ...manifest, layers: [{ mediaType: 'x', digest: 'sha256:../../etc', size: 1 }] }));
  assert.throws(() => classifyManifest(badDigest, undefined, 'm'), /invalid descriptor/);
});

test('platform selection skips attestations and lists what is available', () => {
  const index: ImageIndex = {
    schemaVersion: 2,
    manifests: [
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('1'), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('2'), size: 1, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('3'), size: 1, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('4'), size: 1, platform: { os: 'linux', architecture: 'amd64' } },
    ],
  };
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'amd64' }, 'x').digest, D('4'));
  assert.equal(selectPlatform(index, { os: 'linux', architecture: 'arm64' }, 'x').digest, D('3'));
  assert.throws(
    () => selectPlatform(index, { os: 'linux', architecture: 's390x' }, 'x'),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TSB_IMAGE_NO_PLATFORM');
      assert.match(err.message, /available: linux\/arm\/v7, linux\/arm64\/v8, linux\/amd64/);
      return true;
    },
  );
});
