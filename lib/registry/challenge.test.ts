import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseChallenges } from './challenge.js';

test('parses a Bearer challenge with quoted params containing commas', () => {
  const [c] = parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"');
  assert.equal(c?.scheme, 'bearer');
  assert.deepEqual(c?.params, { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' });
});

test('parses several challenges, unquoted values and escapes', () => {
  const cs = parseChallenges(['Basic realm="x \\"y\\""', 'Bearer realm=https://a/t, error=insufficient_scope']);
  assert.deepEqual(
    cs.map((c) => c.scheme),
    ['basic', 'bearer'],
  );
  assert.equal(cs[0]?.params.realm, 'x "y"');
  assert.equal(cs[1]?.params.realm, 'https://a/t');
  assert.equal(cs[1]?.params.error, 'insufficient_scope');
});

test('no header means no challenges', () => {
  assert.deepEqual(parseChallenges(undefined), []);
});
