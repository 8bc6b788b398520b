/** capctl exec: run a command under a profile (applied to this process, then execve). */
import type { Command } from 'commander';
import { inputError } from '../caps/errors.js';
import { describePrediction, type ExecRequest, planExec, runExec } from '../live/exec.js';
import { lookupGroup, lookupGroups, lookupUser } from '../live/ids.js';
import { resolveBoundProfile } from '../live/profile.js';
import { resolveProfile, resolveStateDir } from '../policy/index.js';
import { printJson } from './output.js';

interface ExecOpts {
  profile?: string;
  jail?: string;
  chroot?: string;
  container?: string;
  user?: string;
  group?: string;
  groups?: string;
  newPrivs?: boolean;
  dryRun?: boolean;
  stateDir?: string;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('exec')
    .description('run a command under a profile: apply its capability sets to this process and execve the command')
    .argument('<CMD...>', 'the command and its arguments (after --)')
    .option('--profile <P>', 'profile file or stock profile name')
    .option('--jail <NAME>', 'use the profile attached to this jail')
    .option('--chroot <DIR>', 'chroot into DIR first; without --profile, use the profile attached to DIR')
    .option('--container <ID>', 'use the profile attached to this container')
    .option('--user <U>', "run as this user (name or uid); the profile's permitted caps become ambient")
    .option('--group <G>', "run with this gid (default: the user's primary group)")
    .option('--groups <LIST>', 'supplementary groups, comma-separated ("" for none; default none with --user)')
    .option('--no-new-privs', 'set no_new_privs before exec (also when the profile asks for it)')
    .option('--dry-run', 'print the predicted /proc/PID/status capability lines instead of running')
    .option('--state-dir <DIR>', 'where bindings are kept')
    .option('--json', 'with --dry-run: print the plan and prediction as JSON')
    .addHelpText(
      'after',
      `
The steps are made in the order the kernel requires: chroot, bounding drops, securebits,
keepcaps, setgroups/setresgid/setresuid, capset, ambient raises, no_new_privs, then execve.
A step the kernel refuses is named with its errno and nothing is executed (exit 1).
--dry-run predicts the five capability lines with capctl's runtime model, from the same steps.

Examples:
  capctl exec --profile ping -- ping -c1 127.0.0.1
  capctl exec --profile ping --user 65534 -- grep ^Cap /proc/self/status
  capctl exec --profile ping --user nobody --dry-run -- cat /proc/self/status

With a chroot bound to a profile (capctl attach --chroot DIR P), capctl exec --chroot DIR -- CMD
runs CMD inside DIR under that profile.`,
    )
    .action((argv: string[], o: ExecOpts) => {
      const stateDir = resolveStateDir({ stateDir: o.stateDir });
      const profile = o.profile ? resolveProfile(o.profile, { stateDir }) : resolveBoundProfile(stateDir, o);
      const req: ExecRequest = { sets: profile.profile.sets, argv };
      if (o.user !== undefined) {
        const u = lookupUser(o.user);
        req.uid = u.uid;
        if (u.gid !== undefined) req.gid = u.gid;
      }
      if (o.group !== undefined) req.gid = lookupGroup(o.group);
      if (o.groups !== undefined) req.groups = lookupGroups(o.groups);
      if (o.chroot !== undefined) req.chroot = o.chroot;
      const profileNnp = (profile.profile as { noNewPrivs?: boolean }).noNewPrivs === true;
      if (o.newPrivs === false || profileNnp) req.noNewPrivs = true;
      const plan = planExec(req);
      const out = describePrediction(plan.prediction, plan.path);
      if (o.dryRun) {
        if (o.json) {
          printJson({
            profile: profile.name,
            profileFile: profile.profile.file,
            path: plan.path,
            argv: plan.argv,
            steps: plan.steps.map((s) => ({ call: s.call, why: s.why })),
            ok: out.ok,
            ...(out.ok ? { status: out.text.split('\n') } : { error: out.text }),
          });
        } else if (out.ok) process.stdout.write(`${out.text}\n`);
        else process.stderr.write(`capctl: ${out.text}\n`);
        process.exitCode = out.ok ? 0 : 1;
        return;
      }
      if (o.json) throw inputError('usage', '--json only goes with --dry-run (exec replaces capctl with CMD)');
      runExec(plan);
    });
}
