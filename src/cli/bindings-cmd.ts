/** capctl bindings: list which profile governs which jail, chroot or container, and its state now. */
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { loadResolvedProfile, readBindings, resolveStateDir } from '../policy/index.js';
import { formatTable, printJson } from './output.js';

/** ok | modified (files changed since attach; still valid) | invalid: … | missing */
function statusOf(profile: string, sha256: string): string {
  if (!existsSync(profile)) return 'missing (a runtime denies everything)';
  try {
    const p = loadResolvedProfile(profile);
    return p.sha256 === sha256 ? 'ok' : 'modified since attach (a runtime denies everything until re-attached)';
  } catch (err) {
    return `invalid (a runtime denies everything): ${(err as Error).message.split('\n')[1] ?? (err as Error).message}`;
  }
}

export function register(program: Command): void {
  program
    .command('bindings')
    .description('list profile bindings and whether each profile still loads')
    .option(
      '--state-dir <DIR>',
      'where bindings are kept (default: $CAPCTL_STATE_DIR, /var/db/capctl as root, ~/.local/state/capctl)',
    )
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      '\nExamples:\n  capctl bindings\n  capctl bindings --json | jq -r \'.[] | select(.kind=="jail") | .target\'',
    )
    .action((opts: { stateDir?: string; json?: boolean }) => {
      const dir = resolveStateDir({ stateDir: opts.stateDir });
      const rows = readBindings(dir).map((b) => ({ ...b, status: statusOf(b.profile, b.sha256) }));
      if (opts.json) return printJson(rows);
      if (rows.length === 0) {
        process.stdout.write(`no bindings in ${dir}\n`);
        return;
      }
      process.stdout.write(
        `${formatTable(
          ['KIND', 'TARGET', 'PROFILE', 'FILE', 'ATTACHED', 'STATUS'],
          rows.map((r) => [r.kind, r.target, r.profileName, r.profile, r.attachedAt, r.status]),
        )}\n`,
      );
    });
}
