import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ErrorCodes, TsbuildError, exitCodeFor } from './errors.js';

test('every error code is documented in docs/errors.md with its exit code', () => {
  const doc = readFileSync(fileURLToPath(new URL('../../docs/errors.md', import.meta.url)), 'utf8');
  for (const code of Object.keys(ErrorCodes) as Array<keyof typeof ErrorCodes>) {
    const row = doc.split('\n').find((l) => l.startsWith(`| ${code} |`));
    assert.ok(row, `${code} is missing from docs/errors.md`);
    const cells = row.split('|').map((c) => c.trim());
    assert.equal(cells[2], ErrorCodes[code].kind, `${code}: kind`);
    assert.equal(Number(cells[3]), exitCodeFor(new TsbuildError(code, 'x')), `${code}: exit code`);
  }
});
