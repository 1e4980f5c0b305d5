import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay, isRetryableNetworkError, parseRetryAfter, resolveRetry, sleep } from './retry-policy.js';

test('Retry-After accepts seconds and HTTP dates; junk is ignored', () => {
  assert.equal(parseRetryAfter('3'), 3000);
  const now = Date.parse('2024-01-01T00:00:00Z');
  assert.equal(parseRetryAfter('Mon, 01 Jan 2024 00:00:10 GMT', now), 10_000);
  assert.equal(parseRetryAfter('soon'), undefined);
  assert.equal(parseRetryAfter(undefined), undefined);
});

test('Retry-After is capped and backoff grows to its cap', () => {
  const p = resolveRetry({ baseDelayMs: 100, maxDelayMs: 1000, maxRetryAfterMs: 5000 });
  assert.equal(backoffDelay(p, 0, 999_999_000), 5000);
  for (let i = 0; i < 10; i++) assert.ok(backoffDelay(p, i) <= 1000);
  assert.ok(backoffDelay(p, 3) >= 400);
});

test('resets and timeouts are retryable, other errors not', () => {
  assert.ok(isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ECONNRESET' })));
  assert.ok(isRetryableNetworkError(new Error('wrapped', { cause: Object.assign(new Error('y'), { code: 'ECONNRESET' }) })));
  assert.ok(!isRetryableNetworkError(Object.assign(new Error('x'), { code: 'ENOTFOUND' })));
});

test('sleep is cancelled by the signal with TSB_ABORTED', async () => {
  // An hour: only the abort can end it within the test's time, and its timer must be cleared or
  // the test process would not exit.
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  await assert.rejects(sleep(3_600_000, ac.signal), { code: 'TSB_ABORTED' });
});
