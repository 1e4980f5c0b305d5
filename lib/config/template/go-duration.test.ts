import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './go-duration.js';

test('Go durations: both micro signs parse as microseconds, String() writes the micro sign', () => {
  assert.equal(parseDuration('1\u00b5s'), 1e3);
  assert.equal(parseDuration('2\u03bcs'), 2e3);
  assert.equal(parseDuration('1h2m3.5s4us'), 3.6e12 + 2 * 6e10 + 3.5e9 + 4e3);
  assert.equal(parseDuration('-1.5ms'), -1.5e6);
  assert.throws(() => parseDuration('1\u00b6s'), /invalid duration/);
  assert.equal(formatDuration(1500), '1.5\u00b5s');
  assert.equal(formatDuration(-90e9), '-1m30s');
});
