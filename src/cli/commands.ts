/**
 * The command registry: each command lives in its own module under src/cli/ and exports a
 * `register(program)` function. Keep this list in the order `capctl --help` should show.
 *
 * Modules are imported on demand, not statically: `capctl learn` loads learn's module graph
 * and nothing else, and `--version` loads none (measured: importing every command's graph cost
 * `--version` 0.33 s against node's own 0.10 s). `names` are the top-level commands a module
 * registers, so main.ts can pick the one module a command line needs.
 */
import type { Command } from 'commander';

export interface CommandModule {
  readonly names: readonly string[];
  readonly load: () => Promise<{ register(program: Command): void }>;
}

// Grouped as the README presents them: Linux capabilities; the runtime; FreeBSD priv(9);
// profiles and bindings; audit.
export const COMMANDS: readonly CommandModule[] = [
  { names: ['caps'], load: () => import('./caps-cmd.js') },
  { names: ['text'], load: () => import('./text-cmd.js') },
  { names: ['decode'], load: () => import('./decode-cmd.js') },
  { names: ['ps'], load: () => import('./ps-cmd.js') },
  { names: ['getcap'], load: () => import('./getcap-cmd.js') },
  { names: ['setcap'], load: () => import('./setcap-cmd.js') },
  { names: ['record'], load: () => import('./record-cmd.js') },
  { names: ['replay'], load: () => import('./replay-cmd.js') },
  { names: ['run'], load: () => import('./run-cmd.js') },
  { names: ['priv'], load: () => import('./priv-cmd.js') },
  { names: ['cap'], load: () => import('./cap-explain-cmd.js') },
  { names: ['check'], load: () => import('./check-cmd.js') },
  { names: ['profile'], load: () => import('./profile-cmd.js') },
  { names: ['attach', 'detach'], load: () => import('./attach-cmd.js') },
  { names: ['bindings'], load: () => import('./bindings-cmd.js') },
  { names: ['jail'], load: () => import('./jail-cmd.js') },
  { names: ['oci'], load: () => import('./oci-cmd.js') },
  { names: ['audit'], load: () => import('./audit-cmd.js') },
  { names: ['exec'], load: () => import('./exec-cmd.js') },
  { names: ['learn'], load: () => import('./learn-cmd.js') },
  // completion walks the whole tree, so main.ts loads every module for it.
  { names: ['completion'], load: () => import('./completion-cmd.js') },
];

/**
 * The modules a command line needs: the one naming its first word, none for a bare
 * `--version`, and all of them for anything else (top-level help, `help CMD`, completion,
 * and a mistyped command, whose "did you mean" needs every name).
 */
export function modulesFor(args: readonly string[]): readonly CommandModule[] {
  const first = args[0];
  if (first === '-V' || first === '--version') return [];
  if (first === undefined || first === 'completion') return COMMANDS;
  const one = COMMANDS.find((m) => m.names.includes(first));
  return one ? [one] : COMMANDS;
}
