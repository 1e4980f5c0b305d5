import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RegistryError, parseSpecErrors, redactUrl } from './registry-error.js';
import { exitCodeFor } from '../errors.js';

test('redactUrl hides userinfo and signed query values but keeps mount/digest', () => {
  const out = redactUrl('https://user:pw@s3.example/blob?X-Amz-Signature=abc&digest=sha256:1&mount=sha256:2&from=a/b&_state=zzz');
  assert.doesNotMatch(out, /pw|abc|zzz/);
  assert.match(out, /digest=sha256%3A1/);
  assert.match(out, /from=a%2Fb/);
});

test('spec error bodies are parsed and capped; junk yields none', () => {
  assert.deepEqual(parseSpecErrors('{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}'), [
    { code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' },
  ]);
  assert.deepEqual(parseSpecErrors('<html>'), []);
  assert.equal(parseSpecErrors(JSON.stringify({ errors: Array.from({ length: 50 }, () => ({ code: 'X' })) })).length, 20);
});

test('status maps to code, kind, retryability, hint and exit code 3', () => {
  const unauthorized = new RegistryError({ method: 'GET', url: 'https://r.example/v2/', status: 401, registry: 'r.example' });
  assert.equal(unauthorized.code, 'TSB_REGISTRY_UNAUTHORIZED');
  assert.equal(unauthorized.retryable, false);
  assert.match(unauthorized.hint ?? '', /tsbuild login r\.example/);
  const unavailable = new RegistryError({ method: 'GET', url: 'https://r.example/v2/', status: 503 });
  assert.equal(unavailable.retryable, true);
  const network = new RegistryError({ method: 'GET', url: 'https://r.example/v2/', registry: 'r.example' });
  assert.equal(network.code, 'TSB_REGISTRY_NETWORK');
  assert.match(network.hint ?? '', /check that r\.example is reachable/);
  assert.doesNotMatch(network.hint ?? '', /insecure-registry/, 'plain http is a TLS problem, hinted where TLS fails');
  assert.equal(exitCodeFor(unauthorized), 3);
});
