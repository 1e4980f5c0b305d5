import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyDocker, parseHealthcheck } from './docker-config.js';

const empty = { VOLUME: [], EXPOSE: [], ENV: {}, LABEL: {} };

test('shell form strings become /bin/sh -c and bracketed strings are exec form', () => {
  const c = applyDocker({}, { ...empty, CMD: 'echo hi', ENTRYPOINT: '["/bin/app", "--x"]' });
  assert.deepEqual(c.Entrypoint, ['/bin/app', '--x']);
  assert.deepEqual(c.Cmd, ['/bin/sh', '-c', 'echo hi']);
});

test('ENTRYPOINT without CMD resets an inherited CMD (Docker rule)', () => {
  const c = applyDocker({ Cmd: ['sh'] }, { ...empty, ENTRYPOINT: ['/app'] });
  assert.equal(c.Cmd, null);
  const d = applyDocker({ Cmd: ['sh'], Entrypoint: ['/e'] }, { ...empty, CMD: ['x'] });
  assert.deepEqual(d.Entrypoint, ['/e']);
  assert.deepEqual(d.Cmd, ['x']);
});

test('ENV replaces existing keys and keeps order; EXPOSE defaults to tcp', () => {
  const c = applyDocker({ Env: ['PATH=/bin', 'A=1'] }, { ...empty, ENV: { A: '2', B: '3' }, EXPOSE: ['80', '53/udp'] });
  assert.deepEqual(c.Env, ['PATH=/bin', 'A=2', 'B=3']);
  assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp']);
});

test('HEALTHCHECK in Dockerfile syntax', () => {
  assert.deepEqual(parseHealthcheck('--interval=5s --retries=3 CMD curl -f http://localhost/'), {
    Interval: 5e9,
    Retries: 3,
    Test: ['CMD-SHELL', 'curl -f http://localhost/'],
  });
  assert.deepEqual(parseHealthcheck('CMD ["/bin/check", "x"]'), { Test: ['CMD', '/bin/check', 'x'] });
  assert.deepEqual(parseHealthcheck('NONE'), { Test: ['NONE'] });
  assert.throws(() => parseHealthcheck('--interval=5 CMD x'), /bad duration/);
});
