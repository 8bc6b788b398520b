/** capctl oci apply|check: a profile written into an OCI bundle, and the sets it will yield. */
import type { Command } from 'commander';
import { CapctlError, inputError } from '../caps/errors.js';
import { containerProfile } from '../container/compile.js';
import type { Platform } from '../container/oci.js';
import { applyProfileToBundle } from '../live/bundle.js';
import { checkBundle } from '../live/bundle-check.js';
import { resolveProfile } from '../policy/index.js';
import { printJson } from './output.js';

function platformOf(v: string | undefined): Platform | undefined {
  if (v === undefined || v === 'linux' || v === 'freebsd') return v;
  throw inputError('usage', `--platform must be linux or freebsd, not ${v}`);
}

export function register(program: Command): void {
  const oci = program
    .command('oci')
    .description('OCI runtime bundles: write a profile into config.json, predict the container process sets');

  oci
    .command('apply')
    .description(
      "write a profile into BUNDLE/config.json (process.capabilities, noNewPrivileges, FreeBSD jail allow.* and ocijail's annotations); every other field and the key order stay, the file is replaced atomically",
    )
    .argument('<BUNDLE>', 'bundle directory holding config.json')
    .requiredOption('--profile <P>', 'profile file or stock profile name')
    .option('--dry-run', 'print a unified diff of config.json instead of writing it')
    .option('--platform <OS>', 'linux or freebsd (default: freebsd when config.json has a freebsd section)')
    .option('--json', 'print what changed as JSON')
    .addHelpText(
      'after',
      `
Exit status: 0 written (or the diff printed), 2 invalid profile or no config.json (the file is
then left as it was).

Examples:
  rm -rf b && mkdir b && runc spec --bundle b
  capctl oci apply --profile ping b --dry-run
  capctl oci apply --profile policies/docker-default.yaml b`,
    )
    .action((bundle: string, opts: { profile: string; dryRun?: boolean; platform?: string; json?: boolean }) => {
      const platform = platformOf(opts.platform);
      const cp = containerProfile(resolveProfile(opts.profile));
      const r = applyProfileToBundle(bundle, cp, { dryRun: opts.dryRun, platform, withDiff: opts.json });
      if (opts.json) return printJson({ profile: cp.name, ...r });
      if (opts.dryRun) {
        process.stdout.write(r.diff);
        return;
      }
      process.stdout.write(
        `${r.written ? 'applied' : 'unchanged:'} ${cp.name} to ${r.configFile} (${r.changed.join(', ')})\n`,
      );
    });

  oci
    .command('check')
    .description(
      "predict the container process's five capability sets after exec from BUNDLE/config.json (user, capabilities, noNewPrivileges, the entrypoint's file capabilities in the rootfs) and warn about the known traps",
    )
    .argument('<BUNDLE>', 'bundle directory holding config.json')
    .option('--json', 'print the prediction as JSON')
    .addHelpText(
      'after',
      `
Prints the lines exactly as /proc/PID/status shows them (CapInh, CapPrm, CapEff, CapBnd,
CapAmb); warnings go to stderr. Exit status: 0 the container starts, 1 the runtime or the
exec would fail (EPERM), 2 bad input.

Examples:
  rm -rf b && mkdir b && runc spec --bundle b
  capctl oci check b
  capctl oci apply --profile k8s-restricted b && capctl oci check b --json`,
    )
    .action((bundle: string, opts: { json?: boolean }) => {
      const r = checkBundle(bundle);
      const p = r.prediction;
      const failure = p.failed
        ? `${p.failed.step.why}: ${p.failed.errnoName}`
        : p.execErrno !== undefined
          ? 'execve: EPERM'
          : undefined;
      if (opts.json) {
        printJson({
          starts: failure === undefined,
          failure,
          status: r.lines
            ? Object.fromEntries(
                r.lines
                  .trimEnd()
                  .split('\n')
                  .map((l) => l.split(':\t') as [string, string]),
              )
            : null,
          warnings: r.warnings,
          entrypoint: r.entrypoint ?? null,
          steps: p.steps.map((s) => s.why),
        });
      } else {
        for (const w of r.warnings) process.stderr.write(`capctl: warning: ${w}\n`);
        if (r.lines) process.stdout.write(r.lines.endsWith('\n') ? r.lines : `${r.lines}\n`);
      }
      if (failure !== undefined) {
        if (!opts.json) throw new CapctlError('would-fail', `the container would not start: ${failure}`, 'denied');
        process.exitCode = 1;
      }
    });
}
