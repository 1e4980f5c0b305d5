// Media types of the OCI image spec and Docker's schema2 equivalents.
export const MediaType = {
  OciManifest: 'application/vnd.oci.image.manifest.v1+json',
  OciIndex: 'application/vnd.oci.image.index.v1+json',
  OciConfig: 'application/vnd.oci.image.config.v1+json',
  OciLayerTar: 'application/vnd.oci.image.layer.v1.tar',
  OciLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  OciLayerZstd: 'application/vnd.oci.image.layer.v1.tar+zstd',
  OciEmpty: 'application/vnd.oci.empty.v1+json',
  DockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  DockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  DockerConfig: 'application/vnd.docker.container.image.v1+json',
  DockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  DockerForeignLayerGzip: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  DockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  DockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
} as const;

const MANIFEST_MEDIA_TYPES: readonly string[] = [MediaType.OciManifest, MediaType.DockerManifest];
const INDEX_MEDIA_TYPES: readonly string[] = [MediaType.OciIndex, MediaType.DockerManifestList];

export function isIndexMediaType(mt: string | undefined): boolean {
  return mt !== undefined && INDEX_MEDIA_TYPES.includes(mt);
}

export function isManifestMediaType(mt: string | undefined): boolean {
  return mt !== undefined && MANIFEST_MEDIA_TYPES.includes(mt);
}

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** How tsbuild writes a layer: gzip (level fixed by the layer format) or zstd at a level. */
export type LayerCompressionSpec = { format: 'gzip' } | { format: 'zstd'; level: number };

export function layerMediaTypeFor(spec: LayerCompressionSpec): string {
  return spec.format === 'zstd' ? MediaType.OciLayerZstd : MediaType.OciLayerGzip;
}

export function layerCompression(mediaType: string): LayerCompression {
  if (mediaType.endsWith('+zstd') || mediaType.endsWith('.zstd')) return 'zstd';
  if (mediaType.endsWith('gzip')) return 'gzip';
  return 'none';
}

/**
 * The OCI media type for a layer of a Docker schema2 manifest (the rest are OCI already): stage and
 * final manifests are written as OCI manifests, whose layers must carry OCI media types.
 */
export function ociLayerMediaType(mediaType: string): string {
  return mediaType === MediaType.DockerLayerGzip ? MediaType.OciLayerGzip : mediaType;
}
