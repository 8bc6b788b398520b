/** capctl attach / detach: bind a profile to a jail, chroot or container, or remove the binding. */
import type { Command } from 'commander';
import { inputError } from '../caps/errors.js';
import {
  attach,
  displayPath,
  removeBinding,
  resolveStateDir,
  type TargetKind,
  validateTarget,
} from '../policy/index.js';
import { printJson } from './output.js';

interface TargetOpts {
  jail?: string;
  chroot?: string;
  container?: string;
  stateDir?: string;
  json?: boolean;
}

export function targetOf(opts: TargetOpts): { kind: TargetKind; target: string } {
  const given = (['jail', 'chroot', 'container'] as const).filter((k) => opts[k] !== undefined);
  if (given.length !== 1) {
    throw inputError('usage', 'give exactly one of --jail NAME, --chroot PATH, --container ID');
  }
  const kind = given[0]!;
  return { kind, target: validateTarget(kind, opts[kind]!) };
}

const STATE_HELP = `
State directory: --state-dir, else $CAPCTL_STATE_DIR, else /var/db/capctl as root or
~/.local/state/capctl otherwise. Concurrent capctl processes are serialised by a lock file;
the bindings file is replaced atomically.`;

export function register(program: Command): void {
  program
    .command('attach')
    .description(
      'attach a profile to a jail, chroot or container (the profile is validated first; as root, group/other-writable profiles are refused)',
    )
    .argument('<PROFILE>', 'profile file or stock profile name')
    .option('--jail <NAME>', 'a FreeBSD jail')
    .option('--chroot <PATH>', 'a chroot directory')
    .option('--container <ID>', 'a container id or name')
    .option('--state-dir <DIR>', 'where bindings are kept')
    .option('--json', 'print the binding as JSON')
    .addHelpText(
      'after',
      `${STATE_HELP}

Examples:
  capctl attach --container web1 nginx
  capctl attach --chroot /compat/centos7 policies/linux-kmod-build.yaml
  capctl attach --jail build --state-dir /tmp/capctl ./my-profile.yaml`,
    )
    .action(async (profile: string, opts: TargetOpts) => {
      const { kind, target } = targetOf(opts);
      const dir = resolveStateDir({ stateDir: opts.stateDir });
      const r = await attach(dir, kind, target, profile);
      if (opts.json) return printJson({ stateDir: dir, ...r });
      for (const w of r.warnings) process.stderr.write(`capctl: warning: ${w}\n`);
      const was = r.replaced ? ` (was ${r.replaced.profileName})` : '';
      process.stdout.write(
        `attached ${r.binding.profileName} (${displayPath(r.binding.profile)}) to ${kind} ${target}${was}\n`,
      );
    });

  program
    .command('detach')
    .description('remove the profile binding of a jail, chroot or container')
    .option('--jail <NAME>', 'a FreeBSD jail')
    .option('--chroot <PATH>', 'a chroot directory')
    .option('--container <ID>', 'a container id or name')
    .option('--state-dir <DIR>', 'where bindings are kept')
    .option('--json', 'print the removed binding as JSON')
    .addHelpText(
      'after',
      `${STATE_HELP}\n\nExit status: 0 removed, 2 no such binding.\n\nExamples:\n  capctl detach --container web1`,
    )
    .action(async (opts: TargetOpts) => {
      const { kind, target } = targetOf(opts);
      const dir = resolveStateDir({ stateDir: opts.stateDir });
      const old = await removeBinding(dir, kind, target);
      if (!old) throw inputError('no-binding', `no profile is attached to ${kind} ${target} (state directory ${dir})`);
      if (opts.json) return printJson(old);
      process.stdout.write(`detached ${old.profileName} from ${kind} ${target}\n`);
    });
}
