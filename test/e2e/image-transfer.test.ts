// End to end: `tsbuild image pull/push/inspect/save/load/list` against a real docker-registry,
// every result cross-checked with skopeo and umoci; archives made by skopeo loaded back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { access, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { seedBusyboxImage, type BusyboxLayout } from '../support/base-image.js';
import { runCli, tempDir } from '../support/cli.js';

const exec = promisify(execFile);

async function skopeo(...args: string[]): Promise<string> {
  const { stdout } = await exec('skopeo', args, { maxBuffer: 16 << 20 });
  return stdout;
}

interface Inspect {
  name: string;
  source: string;
  digest: string;
  platform: string;
  config: { digest: string; cmd?: string[] };
  layers: Array<{ digest: string; diffId: string; size: number; mediaType: string }>;
}

interface SkopeoInspect {
  Digest: string;
  RepoTags: string[];
  Layers: string[];
}

describe('tsbuild image: pull, push, inspect, save, load', () => {
  let reg: RunningRegistry;
  let ref: string;
  let layout: BusyboxLayout;
  let work: { path: string; cleanup(): Promise<void> };
  let home: string;
  const env = { XDG_RUNTIME_DIR: '', REGISTRY_AUTH_FILE: '' };

  before(async () => {
    reg = await startRegistry();
    ({ ref, layout } = await seedBusyboxImage(reg.host));
    work = await tempDir('image-e2e');
    home = join(work.path, 'home');
  });
  after(async () => {
    await reg?.stop();
    await work?.cleanup();
  });

  const cli = (args: string[], h = home): ReturnType<typeof runCli> => runCli(args, { home: h, env });

  test('pull stores the image under its normalised name; list and local inspect show it', async () => {
    const res = await cli(['image', 'pull', ref]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `pulled ${ref} ${layout.manifestDigest}`);
    const list = await cli(['image', 'list', '--format', 'json']);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(JSON.parse(list.stdout), [{ name: ref, kind: 'base', digest: layout.manifestDigest, size: JSON.parse(list.stdout)[0].size }]);
    const ins = await cli(['image', 'inspect', ref]);
    assert.equal(ins.code, 0, ins.stderr);
    assert.ok(ins.stdout.endsWith('}\n'), 'inspect output ends with a newline');
    const j = JSON.parse(ins.stdout) as Inspect;
    assert.equal(j.source, 'local');
    assert.equal(j.digest, layout.manifestDigest);
    assert.equal(j.config.digest, layout.configDigest);
    assert.equal(j.platform, 'linux/amd64');
    assert.deepEqual(
      j.layers.map((l) => [l.digest, l.diffId]),
      [[layout.layerDigest, layout.diffId]],
    );
    assert.deepEqual(j.config.cmd, ['sh']);
  });

  test('inspect of an image that is not stored asks the registry and agrees with skopeo', async () => {
    const other = `${reg.host}/only/remote:v1`;
    await skopeo('copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:latest`, `docker://${other}`);
    const res = await cli(['image', 'inspect', other]);
    assert.equal(res.code, 0, res.stderr);
    const j = JSON.parse(res.stdout) as Inspect;
    assert.equal(j.source, 'remote');
    const s = JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${other}`)) as SkopeoInspect;
    assert.equal(j.digest, s.Digest);
    assert.deepEqual(
      j.layers.map((l) => l.digest),
      s.Layers,
    );
    const missing = await cli(['image', 'inspect', `${reg.host}/no/such:tag`]);
    assert.equal(missing.code, 3);
    assert.match(missing.stderr, /MANIFEST_UNKNOWN/);
    assert.match(missing.stderr, /hint: check the repository name and tag/);
  });

  test('push copies a stored image to another repository; skopeo copies it back byte-identical', async () => {
    const dest = `${reg.host}/pushed/busybox:v2`;
    const res = await cli(['image', 'push', ref, dest]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `pushed ${dest}@${layout.manifestDigest}`);
    const back = join(work.path, 'skopeo-back');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${dest}`, `oci:${back}:b`);
    assert.equal((JSON.parse(await skopeo('inspect', `oci:${back}:b`)) as SkopeoInspect).Digest, layout.manifestDigest);
    const missing = await cli(['image', 'push', 'not/stored:x', dest]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /image not\/stored:x is not in the local store/);
    assert.match(missing.stderr, /hint: fetch it with `tsbuild image pull not\/stored:x`/);
  });

  test('pull --platform refuses an image of another platform', async () => {
    const res = await cli(['image', 'pull', '--platform', 'linux/arm64', ref], join(work.path, 'home-arm'));
    assert.equal(res.code, 3, res.stderr);
    assert.match(res.stderr, /is linux\/amd64, not linux\/arm64/);
  });

  test('save --format oci-archive: skopeo inspects it, and umoci unpacks it after extraction', async () => {
    const file = join(work.path, 'busybox.oci.tar');
    const res = await cli(['image', 'save', ref, '-o', file]);
    assert.equal(res.code, 0, res.stderr);
    const s = JSON.parse(await skopeo('inspect', `oci-archive:${file}`)) as SkopeoInspect;
    assert.equal(s.Digest, layout.manifestDigest);
    const named = JSON.parse(await skopeo('inspect', `oci-archive:${file}:${ref}`)) as SkopeoInspect;
    assert.equal(named.Digest, layout.manifestDigest);
    const dir = join(work.path, 'extracted');
    await mkdir(dir);
    await exec('tar', ['-xf', file, '-C', dir]);
    const bundle = join(work.path, 'bundle');
    await exec('umoci', ['unpack', '--image', `${dir}:${ref}`, bundle]);
    await access(join(bundle, 'rootfs', 'bin', 'busybox'));
    const umociConfig = JSON.parse(await readFile(join(bundle, 'config.json'), 'utf8')) as { process: { args: string[] } };
    assert.deepEqual(umociConfig.process.args, ['sh']);
  });

  test('save --format docker-archive: skopeo reads manifest.json, RepoTags and every layer', async () => {
    const file = join(work.path, 'busybox.docker.tar');
    const res = await cli(['image', 'save', ref, '-o', file, '--format', 'docker-archive']);
    assert.equal(res.code, 0, res.stderr);
    const s = JSON.parse(await skopeo('inspect', `docker-archive:${file}`)) as SkopeoInspect;
    assert.deepEqual(s.Layers, [layout.diffId]);
    // skopeo inspect shows RepoTags only for registries; the tag is looked up by name instead.
    const byTag = JSON.parse(await skopeo('inspect', `docker-archive:${file}:${ref}`)) as SkopeoInspect;
    assert.equal(byTag.Digest, s.Digest);
    const { stdout } = await exec('tar', ['-xOf', file, 'manifest.json']);
    const manifest = JSON.parse(stdout) as Array<{ Config: string; RepoTags: string[]; Layers: string[] }>;
    assert.deepEqual(manifest, [
      { Config: `blobs/sha256/${layout.configDigest.slice(7)}`, RepoTags: [ref], Layers: [`blobs/sha256/${layout.layerDigest.slice(7)}`] },
    ]);
    // A full copy reads (and verifies) every blob of the archive.
    await skopeo('copy', '--quiet', `docker-archive:${file}`, `oci:${join(work.path, 'from-docker-archive')}:x`);
    const copied = JSON.parse(await skopeo('inspect', '--config', `oci:${join(work.path, 'from-docker-archive')}:x`)) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(copied.rootfs.diff_ids, [layout.diffId]);
  });

  test('load of our own oci-archive into an empty home restores the image under its name', async () => {
    const fresh = join(work.path, 'home-load-own');
    const res = await cli(['image', 'load', '-i', join(work.path, 'busybox.oci.tar')], fresh);
    assert.equal(res.code, 0, res.stderr);
    assert.equal(res.stdout.trim(), `loaded ${ref} ${layout.manifestDigest} (oci-archive, 1 layers, ref name "${ref}" in the archive)`);
    const ins = JSON.parse((await cli(['image', 'inspect', ref], fresh)).stdout) as Inspect;
    assert.equal(ins.source, 'local');
    assert.equal(ins.digest, layout.manifestDigest);
  });

  test('load of an oci-archive made by skopeo copy docker://… (unnamed, then named)', async () => {
    const unnamed = join(work.path, 'skopeo-unnamed.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci-archive:${unnamed}`);
    const fresh = join(work.path, 'home-skopeo-oci');
    const refused = await cli(['image', 'load', '-i', unnamed], fresh);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /has no name/);
    assert.match(refused.stderr, /hint: give it one with --name/);
    const named = await cli(['image', 'load', '-i', unnamed, '--name', `${reg.host}/loaded/busybox:1`], fresh);
    assert.equal(named.code, 0, named.stderr);
    assert.match(named.stdout, new RegExp(`loaded ${reg.host}/loaded/busybox:1 ${layout.manifestDigest} \\(oci-archive, 1 layers, named by --name\\)`));

    const withRef = join(work.path, 'skopeo-named.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci-archive:${withRef}:${reg.host}/named/busybox:2`);
    const res = await cli(['image', 'load', '-i', withRef], fresh);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stdout,
      new RegExp(
        `loaded ${reg.host}/named/busybox:2 ${layout.manifestDigest} \\(oci-archive, 1 layers, ref name "${reg.host}/named/busybox:2" in the archive\\)`,
      ),
    );
    // A short name is reported as found, next to the reference it stands for; a bare tag names no image.
    const short = join(work.path, 'skopeo-short.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci-archive:${short}:team/busybox`);
    const shortRes = await cli(['image', 'load', '-i', short], fresh);
    assert.equal(
      shortRes.stdout.trim(),
      `loaded docker.io/team/busybox:latest ${layout.manifestDigest} (oci-archive, 1 layers, ref name "team/busybox" in the archive)`,
    );
    const tagOnly = join(work.path, 'skopeo-tag.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `oci-archive:${tagOnly}:v1`);
    const tagRes = await cli(['image', 'load', '-i', tagOnly], fresh);
    assert.equal(tagRes.code, 2);
    assert.match(tagRes.stderr, /has no name \(its ref name "v1" is only a tag, not an image reference\); nothing was loaded/);
    // What was loaded can go back to a registry, and skopeo agrees on the result.
    const push = await cli(['image', 'push', `${reg.host}/named/busybox:2`, `${reg.host}/reloaded/oci:1`], fresh);
    assert.equal(push.code, 0, push.stderr);
    assert.equal(
      (JSON.parse(await skopeo('inspect', '--tls-verify=false', `docker://${reg.host}/reloaded/oci:1`)) as SkopeoInspect).Digest,
      layout.manifestDigest,
    );
  });

  test('load of a docker-archive made by skopeo copy docker://…', async () => {
    const file = join(work.path, 'skopeo-docker.tar');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${ref}`, `docker-archive:${file}:${reg.host}/docker/busybox:3`);
    const fresh = join(work.path, 'home-skopeo-docker');
    const res = await cli(['image', 'load', '-i', file], fresh);
    assert.equal(res.code, 0, res.stderr);
    assert.match(
      res.stdout,
      new RegExp(
        `loaded ${reg.host}/docker/busybox:3 sha256:[a-f0-9]{64} \\(docker-archive, 1 layers, RepoTags "${reg.host}/docker/busybox:3" in the archive\\)`,
      ),
    );
    const ins = JSON.parse((await cli(['image', 'inspect', `${reg.host}/docker/busybox:3`], fresh)).stdout) as Inspect;
    assert.equal(ins.config.digest, layout.configDigest);
    assert.deepEqual(
      ins.layers.map((l) => l.diffId),
      [layout.diffId],
    );
    // skopeo writes uncompressed layers into docker-archive: stored as they are, digest = diffId.
    const push = await cli(['image', 'push', `${reg.host}/docker/busybox:3`, `${reg.host}/reloaded/docker:1`], fresh);
    assert.equal(push.code, 0, push.stderr);
    const bundleLayout = join(work.path, 'reloaded-docker');
    await skopeo('copy', '--quiet', '--src-tls-verify=false', `docker://${reg.host}/reloaded/docker:1`, `oci:${bundleLayout}:r`);
    await exec('umoci', ['unpack', '--image', `${bundleLayout}:r`, join(work.path, 'reloaded-bundle')]);
    await access(join(work.path, 'reloaded-bundle', 'rootfs', 'bin', 'busybox'));
  });

  test('a corrupted archive fails with a clear message and references nothing', async () => {
    const file = join(work.path, 'busybox.oci.tar');
    const bytes = await readFile(file);
    const corrupt = join(work.path, 'corrupt.tar');
    const at = Math.floor(bytes.length / 2); // inside the ~1 MB layer
    bytes[at] = bytes[at]! ^ 0x55;
    await writeFile(corrupt, bytes);
    const fresh = join(work.path, 'home-corrupt');
    const res = await cli(['image', 'load', '-i', corrupt], fresh);
    assert.equal(res.code, 1, res.stderr);
    assert.match(res.stderr, /the archive is corrupt: blobs\/sha256\/[a-f0-9]{64} hashes to sha256:[a-f0-9]{64}; nothing was loaded/);
    assert.match(res.stderr, /hint: /);
    const list = await cli(['image', 'list', '--all', '--format', 'json'], fresh);
    assert.deepEqual(JSON.parse(list.stdout), []);
    const missing = await cli(['image', 'load', '-i', join(work.path, 'nope.tar')], fresh);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot open the archive .*nope\.tar: no such file/);
  });
});
