/**
 * `capctl run`: run a program with its capability calls and privileged operations put through
 * the engine live (seccomp user notification). Thin: flags → src/live/run.ts → exit status.
 */
import type { Command } from 'commander';
import { recordFromDecision } from '../audit/from-decision.js';
import { type AuditWriter, createAuditWriter } from '../audit/writer.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { resolveBoundProfile } from '../live/profile.js';
import { runSupervised } from '../live/run.js';
import { type CompiledProfile, resolveProfile, resolveStateDir } from '../policy/index.js';
import { jailParamArgs } from '../policy/jail.js';
import { lookupUser } from '../sys/users.js';

interface RunOpts {
  host?: string;
  jailParam: string[];
  profile?: string;
  jail?: string;
  chroot?: string;
  stateDir?: string;
  complain?: boolean;
  audit?: string;
  json?: boolean;
  user?: string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/**
 * --profile P, or the profile attached to --jail NAME / --chroot DIR (capctl attach), looked up
 * as capctl exec does. A missing binding, an untrusted or corrupt bindings file and a profile
 * changed since attach are refused before anything starts, with exit 2 (not exec's 1): run's
 * status is the program's own, and 1 is a status programs use.
 */
function chooseProfile(o: RunOpts): CompiledProfile | undefined {
  const stateDir = resolveStateDir({ stateDir: o.stateDir });
  if (o.profile !== undefined) {
    if (o.jail !== undefined) throw inputError('usage', '--profile and --jail are alternatives: give one');
    return resolveProfile(o.profile, { stateDir });
  }
  if (o.jail === undefined && o.chroot === undefined) return undefined;
  try {
    return resolveBoundProfile(stateDir, {
      ...(o.jail !== undefined ? { jail: o.jail } : {}),
      ...(o.chroot !== undefined ? { chroot: o.chroot } : {}),
    });
  } catch (err) {
    if (err instanceof CapctlError) throw new CapctlError(err.code, err.message, 'input');
    throw err;
  }
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run a program with its capability calls answered by the engine and its privileged operations decided by it (seccomp user notification)',
    )
    .argument('<CMD...>', 'the program and its arguments (after --)')
    .option(
      '--host <KIND>',
      'privilege decisions by "linux" (capable()) or "freebsd" (priv_check in a jail); default linux, freebsd with --jail',
    )
    .option(
      '--jail-param <K=V>',
      'jail(8) parameter for --host freebsd, e.g. allow.raw_sockets=1 (repeatable)',
      collect,
      [],
    )
    .option('--profile <FILE>', 'YAML profile whose decisions apply')
    .option(
      '--jail <NAME>',
      'as in this jail: the profile attached to it (capctl attach --jail NAME P), --host freebsd, and the allow.* parameters capctl jail create gives that profile (--jail-param adds or overrides)',
    )
    .option(
      '--chroot <DIR>',
      'run the program chrooted into DIR; without --profile, under the profile attached to DIR (capctl attach --chroot DIR P)',
    )
    .option('--state-dir <DIR>', 'where bindings are kept (for --jail/--chroot)')
    .option('--complain', 'refuse nothing: let every call continue and record what enforce mode would have refused')
    .option('--audit <FILE>', 'append audit records (NDJSON) of refusals (and complain-mode passes) to FILE')
    .option('--user <U>', 'run as user U (name or uid; its gid, no supplementary groups, no capabilities kept)')
    .option('--json', 'after the program exits, print its status and the supervisor counters as JSON on stderr')
    .addHelpText(
      'after',
      `
Examples:
  capctl run -- capsh --print                        # the same output as without capctl
  capctl run --host freebsd -- capsh --print         # the bridged sets a jail would report
  capctl run --user nobody -- sh -c 'id; getpcaps $$'
  capctl run --host freebsd --audit /tmp/a.log -- ping -c1 127.0.0.1   # the jail refuses the raw socket: ping's exit 2
  capctl run --host freebsd --jail-param allow.raw_sockets=1 -- ping -c1 127.0.0.1
  capctl run --host freebsd --profile policies/ping.yaml --jail-param allow.raw_sockets=1 -- capsh --print
  capctl run --complain --profile policies/strict.yaml --audit /tmp/a.log -- ping -c1 127.0.0.1
  capctl run --chroot / --profile ping -- capsh --print   # chrooted (here into /) under ping.yaml

--jail NAME / --chroot DIR without --profile use the profile attached with capctl attach; no
binding, a corrupt bindings file or a profile changed since attach is exit 2, nothing runs.
--jail NAME also means --host freebsd (unless --host is given) with the allow.* parameters
that capctl jail create gives the attached profile (ping.yaml: allow.raw_sockets).

The exit status is the program's (128 + N when killed by signal N); 2 for bad input.
Needs root (or CAP_SYS_ADMIN) and seccomp user notification (Linux 5.9+).`,
    )
    .action(async (argv: string[], opts: RunOpts) => {
      const profile = chooseProfile(opts);
      const audit: AuditWriter | undefined =
        opts.audit !== undefined
          ? createAuditWriter({
              dest: opts.audit,
              ratePerSecond: profile?.audit.rateLimit.perSecond ?? 0,
              bufferBytes: 0,
            })
          : undefined;
      // --jail NAME is the jail as `capctl jail create` makes it from the same profile: the
      // FreeBSD host with that profile's allow.* parameters; later --jail-param values win.
      const host = opts.host ?? (opts.jail !== undefined ? 'freebsd' : 'linux');
      const jailParams =
        opts.jail !== undefined && profile !== undefined && host === 'freebsd'
          ? [...jailParamArgs(profile, opts.jail), ...opts.jailParam]
          : opts.jailParam;
      const r = await runSupervised({
        argv,
        host,
        jailParams,
        ...(opts.user !== undefined ? { user: lookupUser(opts.user) } : {}),
        profile,
        ...(opts.chroot !== undefined ? { chroot: opts.chroot } : {}),
        complain: opts.complain === true,
        onDecision: (ev) => {
          audit?.write(recordFromDecision(ev, profile ? { profile: profile.name } : {}));
        },
        onNote: (text) => process.stderr.write(`capctl run: ${text}\n`),
      });
      audit?.close();
      if (opts.json) process.stderr.write(`${JSON.stringify({ code: r.code, signal: r.signal, stats: r.stats })}\n`);
      // The worker stays blocked in NOTIF_RECV: leave at once with the program's status.
      process.exit(r.code);
    });
}
