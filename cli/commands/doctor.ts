// tsbuild doctor: what this machine offers the builder, with a fix for each missing piece.
import type { Command } from 'commander';
import { probe } from '../../runtime/probe.js';
import { homePaths } from '../../lib/home.js';
import { stapelStatus } from '../../lib/stapel/index.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('check the sandbox, overlayfs, user namespaces and tools tsbuild needs, and the ansible toolchain')
    .option('--json', 'print the probe result as JSON')
    .action(async (flags: { json?: boolean }) => {
      const [r, stapel] = await Promise.all([probe(), stapelStatus(homePaths().store)]);
      if (flags.json) {
        process.stdout.write(`${JSON.stringify({ ...r, stapel }, null, 2)}\n`);
      } else {
        for (const c of r.checks) {
          process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.name.padEnd(20)} ${c.detail}\n`);
          if (!c.ok && c.fix) process.stdout.write(`     fix: ${c.fix}\n`);
        }
        // Only ansible images need it, and a build makes it: information, never a failure.
        process.stdout.write(`${stapel.stored ? 'ok  ' : 'note'} ${'stapel toolchain'.padEnd(20)} ${stapel.detail}\n`);
        process.stdout.write(
          `sandboxes: ${
            Object.entries(r.sandboxes)
              .filter(([, v]) => v)
              .map(([k]) => k)
              .join(', ') || 'none'
          }\n`,
        );
      }
      if (r.checks.some((c) => !c.ok)) process.exitCode = 4;
    });
}
