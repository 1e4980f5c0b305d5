import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { CLOSE_INHERITED_FDS } from './close-inherited-fds.js';

test('closing inherited descriptors keeps stdout, stderr and fd 3, and closes the rest', () => {
  // What the step sees afterwards: its open descriptors (builtins only: nothing opens one of its own).
  const after = 'echo to-stderr >&2; for f in /proc/self/fd/*; do [ -L "$f" ] && echo "${f##*/}"; done; true';
  const res = spawnSync('/usr/bin/bash-static', ['-c', CLOSE_INHERITED_FDS + after], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
  assert.equal(res.status, 0, String(res.stderr));
  // Regression: the loop used to run with its stderr on /dev/null and closed bash's saved copy of the
  // real stderr, so the step's stderr stayed /dev/null.
  assert.equal(res.stderr, 'to-stderr\n');
  assert.deepEqual(
    res.stdout
      .trim()
      .split('\n')
      .map(Number)
      .sort((a, b) => a - b),
    [0, 1, 2, 3],
  );
});
