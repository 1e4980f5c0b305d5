// Public surface of the registry module: an OCI distribution client (auth, retries, verified
// transfers) and image pull/push between a registry and the local OCI layout store.
export { RegistryClient, registryClient } from './registry-client.js';
export type { RegistryClientOptions, RegistryRequest, RegistryResponse, HttpMethod } from './registry-client.js';
export { RegistryError, redactUrl, parseSpecErrors, isRetryableStatus } from './registry-error.js';
export type { SpecError } from './registry-error.js';
export {
  authFileCredentials,
  authFilePaths,
  chainCredentials,
  noCredentials,
  normalizeAuthKey,
  parseCredsFlag,
  runCredentialHelper,
  staticCredentials,
} from './credentials.js';
export type { Credential, CredentialProvider, AuthFileCredentialsOptions } from './credentials.js';
export { parseChallenges } from './challenge.js';
export type { Challenge } from './challenge.js';
export { repositoryScope } from './registry-auth.js';
export type { RetryOptions } from './retry-policy.js';
export { parseRetryAfter } from './retry-policy.js';
export { MANIFEST_ACCEPT, classifyManifest, getManifest, headManifest, putManifest, resolveDigest } from './manifests.js';
export type { FetchedManifest } from './manifests.js';
export { getBlob } from './blob-download.js';
export type { GetBlobOptions } from './blob-download.js';
export { blobExists, uploadBlob } from './blob-upload.js';
export type { BlobExistsOptions, BlobOpener, UploadBlobOptions } from './blob-upload.js';
export { pullImage, selectPlatform } from './pull-image.js';
export type { PullImageOptions, PulledImage } from './pull-image.js';
export { pushImage } from './push-image.js';
export type { PushImageOptions, PushedImage } from './push-image.js';
export type { RepositoryRef, TransferProgress } from './transfer-types.js';
export { fetchBlobBytes } from './blob-bytes.js';
export { BlobInfoCache, blobInfoCache } from './blob-info-cache.js';
export type { BlobInfoCacheOptions } from './blob-info-cache.js';
export { checkCredentials } from './check-credentials.js';
export { authFilesWithEntry, loginAuthFile, loginKey, removeAuthFileCredential, saveAuthFileCredential } from './auth-file-store.js';
export type { SaveResult } from './auth-file-store.js';
