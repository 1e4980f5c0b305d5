import { test } from 'node:test';
import assert from 'node:assert/strict';
import { type Command, CommanderError } from 'commander';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadedModules } from '../../test/support/loaded-modules.js';

test('image pull and push load neither lib/image (archives, recompression) nor lib/layer (tar, compression, workers)', () => {
  const main = new URL('../main.js', import.meta.url).href;
  for (const sub of ['pull', 'push']) {
    const urls = loadedModules(main, ['image', sub, '--help']);
    assert.ok(
      urls.some((u) => u.endsWith('/cli/commands/image.js')),
      `the image command was loaded: ${urls.filter((u) => u.includes('/cli/')).join(' ')}`,
    );
    assert.deepEqual(
      urls.filter((u) => u.includes('/lib/image/') || u.includes('/lib/layer/')).map((u) => u.replace(/.*\/lib\//, 'lib/')),
      [],
      sub,
    );
  }
});

test('`image push`/`image pull` register their subcommand alone, and print and exit exactly as with every subcommand registered', async () => {
  const { createProgram } = await import('../main.js');
  const run = async (argv: string[], narrow: boolean): Promise<{ names: string[]; out: string; code: number | undefined }> => {
    const program = await createProgram(['image'], narrow ? argv : undefined);
    let out = '';
    const walk = (c: Command): void => {
      c.configureOutput({ writeOut: (s) => (out += `out:${s}`), writeErr: (s) => (out += `err:${s}`) });
      for (const sub of c.commands) walk(sub);
    };
    walk(program);
    let code: number | undefined;
    try {
      await program.parseAsync(argv);
    } catch (err) {
      assert.ok(err instanceof CommanderError, String(err));
      code = err.exitCode;
    }
    const image = program.commands.find((c) => c.name() === 'image')!;
    return { names: image.commands.map((c) => c.name()), out, code };
  };
  const all = ['pull', 'push', 'inspect', 'save', 'load', 'list'];
  for (const args of [
    ['image', 'push', '--help'],
    ['image', 'pull', '-h'],
    ['image', 'push'],
    ['image', 'push', 'a'],
    ['image', 'push', 'a', 'b', 'c'],
    ['image', 'pull', '--bogus', 'r/x:1'],
    ['image', 'pull', '--platform'],
    ['image', 'pussh', 'a', 'b'],
    ['image', '--help'],
    ['image'],
    ['image', 'help', 'push'],
  ]) {
    const argv = ['node', 'tsbuild', ...args];
    const narrowed = await run(argv, true);
    const full = await run(argv, false);
    assert.deepEqual(full.names, all);
    assert.deepEqual(narrowed.names, args[1] === 'push' || args[1] === 'pull' ? [args[1]] : all, args.join(' '));
    assert.ok(full.out.length > 0, `${args.join(' ')} printed something`);
    assert.equal(narrowed.out, full.out, args.join(' '));
    assert.equal(narrowed.code, full.code, args.join(' '));
  }
});

test('a pull whose store cannot be opened leaves no lease behind (the store and the lease are made together)', () => {
  const home = mkdtempSync(join(tmpdir(), 'tsbuild-image-test-'));
  try {
    writeFileSync(join(home, 'store'), 'not a directory');
    const r = spawnSync(process.execPath, [fileURLToPath(new URL('../../../bin/tsbuild.js', import.meta.url)), 'image', 'pull', '127.0.0.1:9/none:1'], {
      encoding: 'utf8',
      env: { ...process.env, TSBUILD_HOME: home },
    });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr, /store/);
    assert.deepEqual(readdirSync(join(home, 'locks', 'leases')), []);
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
});
