// The escape suite (issue 14): a static C probe baked into a base image with umoci tries what a
// hostile base image author would — open_by_handle_at through every path it can open, mount, unshare,
// mknod + open, /proc/sys writes, ptrace, writing /proc/self/exe — in `build` and `run`, with bwrap,
// runc and crun, as root and as an unprivileged user with a subordinate range; ownership is exact,
// secrets and binds read-only, and doctor reports the protections. WorkingDirs: escape-workdir-*.test.ts.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  USER,
  assertContained,
  cli,
  escapeWorkspace,
  findFile,
  parseProbe,
  rootRangeStart,
  setUpUsers,
  tearDownUsers,
  topLayerListing,
  werfYaml,
  type EscapeWorkspace,
  type Who,
} from './escape-support.js';

before(setUpUsers);
after(tearDownUsers);

for (const who of [{ label: 'root' }, { label: 'rootless', user: USER }] as Who[]) {
  describe(`escape suite (${who.label})`, () => {
    let ws: EscapeWorkspace;
    before(async () => {
      ws = await escapeWorkspace(who);
    });
    after(async () => {
      await ws?.cleanup();
    });

    test('doctor reports the user namespace mapping, the seccomp filter and the capability set as active', async () => {
      const res = await cli(who, ['doctor', '--json'], { home: ws.home });
      const r = JSON.parse(res.stdout) as {
        protections: {
          userNamespace: { active: boolean; detail: string };
          seccomp: { active: boolean; deniedSyscalls: number };
          capabilities: { capEff: string; namespaced: boolean };
        };
      };
      assert.equal(r.protections.userNamespace.active, true, r.protections.userNamespace.detail);
      if (!who.user) assert.match(r.protections.userNamespace.detail, /host root is not mapped in a step/);
      assert.equal(r.protections.seccomp.active, true);
      assert.ok(r.protections.seccomp.deniedSyscalls >= 50);
      assert.equal(r.protections.capabilities.capEff, '00000000a00425fb');
      assert.equal(r.protections.capabilities.namespaced, true);
      const text = await cli(who, ['doctor'], { home: ws.home });
      assert.match(text.stdout, /ok +step user namespace/);
      assert.match(text.stdout, /ok +step seccomp/);
    });

    for (const sandbox of ['bwrap', 'runc', 'crun']) {
      test(`${sandbox}: the probe finds no way out in build and run; ownership recorded exactly; secrets read-only`, async () => {
        const canary = `escaped-${sandbox}-${who.label}`;
        await ws.write(
          werfYaml('local.test/escape:base', [
            `/probe ${canary} ${process.pid} > /probe-build.txt 2>&1`,
            'touch /owned && chown 1234:4321 /owned && touch /suid && chmod 4755 /suid && mkdir /sgid-dir && chmod 2775 /sgid-dir',
            'if echo x > /run/secrets/token 2>/dev/null; then echo secret-writable; exit 1; fi',
            `touch /cache/owner-${sandbox}`,
            'for d in /disk /mem; do if head -c1 $d >/dev/null 2>&1; then echo device-usable $d; exit 1; fi; done',
          ]),
        );
        const build = await cli(who, ['build', '--dir', ws.project, '--pull', 'never', '--sandbox', sandbox], { home: ws.home });
        assert.equal(build.code, 0, build.stderr);
        const layer = await topLayerListing(ws.home);
        const line = (p: string): string | undefined => layer.find((l) => l.endsWith(` ${p}`) || l.endsWith(` ${p}/`));
        assert.match(line('owned') ?? '', /^-rw-r--r-- 1234\/4321 owned$/, layer.join('\n'));
        assert.match(line('suid') ?? '', /^-rwsr-xr-x 0\/0 suid$/, layer.join('\n'));
        assert.match(line('sgid-dir') ?? '', /^drwxrwsr-x 0\/0 sgid-dir\/?$/, layer.join('\n'));
        assert.ok(!layer.some((l) => / run\/secrets/.test(l)), 'secrets never reach a layer');
        assert.equal(statSync(join(ws.home, 'snapshots')).mode & 0o077, 0, 'snapshots are closed to other users');
        const base = await topLayerListing(ws.home, 0);
        assert.ok(
          base.some((l) => /^brw-rw-rw- 0\/0 disk$/.test(l)) && base.some((l) => /^crw-rw-rw- 0\/0 mem$/.test(l)),
          `device nodes kept in the base layer:\n${base.filter((l) => /^[bc]/.test(l)).join('\n')}`,
        );
        // Who the step's uid 0 is on the host: never host root.
        const [owned] = findFile(join(ws.home, 'build_dir'), `owner-${sandbox}`);
        assert.ok(owned, 'the step wrote into its build_dir mount');
        const hostUid = statSync(owned).uid;
        if (who.user) assert.equal(hostUid, Number(execFileSync('id', ['-u', who.user], { encoding: 'utf8' })), 'rootless: step uid 0 is the user');
        else assert.equal(hostUid, rootRangeStart(), 'root: step uid 0 is the first id of the subordinate range');

        const fromBuild = await cli(who, ['run', '--dir', ws.project, '--sandbox', sandbox, 'app', '--', '/bin/cat', '/probe-build.txt'], { home: ws.home });
        assert.equal(fromBuild.code, 0, fromBuild.stderr);
        assertContained(parseProbe(fromBuild.stdout), `${sandbox} build`, true);

        const run = await cli(who, ['run', '--dir', ws.project, '--sandbox', sandbox, 'app', '--', '/probe', canary, String(process.pid)], { home: ws.home });
        assert.equal(run.code, 0, run.stderr);
        assertContained(parseProbe(run.stdout), `${sandbox} run`, false);
        // A handle for inode 2 opens the root of the file system behind the descriptor: the host's /.
        assert.ok(!existsSync(join('/', canary)), 'nothing created on the host through a file handle');
      });
    }
  });
}
