/** capctl jail create: the jail(8) command and jail.conf block a profile needs, and its binding. */

import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  attach,
  checkTargetFits,
  displayPath,
  planJail,
  resolveProfile,
  resolveStateDir,
  validateTarget,
} from '../policy/index.js';
import { printJson } from './output.js';

interface CreateOpts {
  profile: string;
  path: string;
  dryRun?: boolean;
  stateDir?: string;
  json?: boolean;
}

export function register(program: Command): void {
  const jail = program.command('jail').description('FreeBSD jails from profiles');
  jail
    .command('create')
    .description(
      'print the `jail -c` command and jail.conf block with exactly the allow.* parameters the profile needs, list what jail parameters cannot express, and record the binding',
    )
    .argument('<NAME>', 'jail name')
    .requiredOption('--profile <PROFILE>', 'profile file or stock profile name')
    .requiredOption('--path <DIR>', "the jail's root directory")
    .option('--dry-run', 'print only; do not record the binding')
    .option('--state-dir <DIR>', 'where bindings are kept')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      `
capctl does not run jail(8) itself; run the printed command on the FreeBSD host, or add the
block to /etc/jail.conf.

Examples:
  capctl jail create web --profile docker-default --path /jails/web --dry-run
  capctl jail create pinger --profile ping --path /jails/pinger --json | jq .params`,
    )
    .action(async (name: string, opts: CreateOpts) => {
      validateTarget('jail', name);
      const profile = resolveProfile(opts.profile, { stateDir: opts.stateDir });
      checkTargetFits(profile.name, profile.profile.target, 'jail');
      const plan = planJail(profile, name, resolve(opts.path));
      let recorded: string | undefined;
      if (!opts.dryRun) {
        const dir = resolveStateDir({ stateDir: opts.stateDir });
        await attach(dir, 'jail', name, profile.profile.file);
        recorded = dir;
      }
      if (opts.json) return printJson({ ...plan, binding: recorded ? { stateDir: recorded } : null });
      const out = [`# profile ${displayPath(plan.profile)}`, plan.command, '', '# jail.conf', plan.conf];
      if (plan.cannotExpress.length || plan.notes.length) {
        out.push('', '# not expressible with jail parameters:');
        for (const c of plan.cannotExpress) out.push(`#   ${c.subject}: ${c.why}`);
        for (const n of plan.notes) out.push(`#   note: ${n}`);
      }
      out.push('', recorded ? `# binding recorded in ${recorded}` : '# dry run: no binding recorded');
      process.stdout.write(`${out.join('\n')}\n`);
    });
}
