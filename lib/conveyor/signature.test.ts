import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeSignature } from './signature.js';

test('signature is stable for the same record regardless of key order (golden value)', () => {
  const a = computeSignature('install', 'abc', { commands: ['echo 1'], cacheVersion: null, builder: 'shell', stageCacheVersion: null });
  const b = computeSignature('install', 'abc', { stageCacheVersion: null, builder: 'shell', cacheVersion: null, commands: ['echo 1'] });
  assert.equal(a, b);
  // Pinned: changing the signature scheme must be a deliberate act (bump SIGNATURE_VERSION).
  assert.equal(a, '0f4516654c0802f2ccd7eade5edd42dedc9361c4b57ae66cfb8411822cc8d78a');
});

test('every input, the stage name and the parent change the signature', () => {
  const base = computeSignature('install', 'p', { commands: ['a'] });
  assert.notEqual(base, computeSignature('install', 'q', { commands: ['a'] }));
  assert.notEqual(base, computeSignature('setup', 'p', { commands: ['a'] }));
  assert.notEqual(base, computeSignature('install', 'p', { commands: ['a', ''] }));
  assert.notEqual(base, computeSignature('install', null, { commands: ['a'] }));
});
