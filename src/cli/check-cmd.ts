/**
 * `capctl check`: would this thread get these privileges or capabilities? Thin: flags (or a
 * live process with --pid) -> src/runtime/check.ts runCheck, which decides through the same
 * host the runtime asks during replay. Exit 0 when every request is allowed, 1 when any is
 * denied, 2 on bad input.
 */
import type { Command } from 'commander';
import { inputError } from '../caps/errors.js';
import { parseCapText } from '../caps/text.js';
import {
  type CompiledProfile,
  findBinding,
  profileForTarget,
  resolveProfile,
  resolveStateDir,
} from '../policy/index.js';
import { parseJailParamArgs } from '../priv/jail.js';
import { parseRequest, runCheck } from '../runtime/check.js';
import { Credential } from '../runtime/credential.js';
import { readProcRoot, readProcStatus } from '../sys/proc.js';
import { parseIntFlag, UID_MAX } from './flags.js';
import { printJson } from './output.js';

/** The host this capctl runs on: what `check` answers for unless told otherwise. */
const NATIVE_HOST: 'linux' | 'freebsd' = process.platform === 'freebsd' ? 'freebsd' : 'linux';

interface CliOptions {
  host: string;
  pid?: string;
  stateDir?: string;
  syscall?: string;
  jailParam: string[];
  caps?: string;
  uid?: string;
  profile?: string;
  native?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('check')
    .description('would a thread get these privileges/capabilities? allowed/denied with the reason chain')
    .argument('<REQUEST...>', 'PRIV_* or CAP_* names (prefix optional), or privilege numbers')
    .option(
      '--host <KIND>',
      'freebsd: priv_check in a jail (the bridge); linux: the effective set (default: the host capctl runs on)',
      NATIVE_HOST,
    )
    .option(
      '--pid <PID>',
      "a live process: its credential from /proc/PID/status (and, if chrooted, its chroot's bound profile)",
    )
    .option('--syscall <NAME>', 'the system call the use is made in (profile conditions, FreeBSD operation rules)')
    .option('--state-dir <DIR>', 'where bindings are kept (for --pid without --profile)')
    .option(
      '--jail-param <K=V>',
      'jail(8) parameter, e.g. allow.raw_sockets=1 (repeatable; --host freebsd)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--caps <TEXT>', 'the thread\'s capabilities in libcap text (its E set is used), e.g. "cap_net_raw=ep"')
    .option('--uid <N>', 'effective (and real) uid of the thread (default 0)')
    .option('--profile <FILE>', 'YAML profile attached to the jail (veto/grant stages, capability mask)')
    .option('--native', 'freebsd: a native FreeBSD credential (uid 0 is the superuser) instead of a Linux thread')
    .option('--json', 'print JSON: [{request, decision, stage, reason, errno, chain}]')
    .addHelpText(
      'after',
      `
Without --caps the thread holds what it would start with: on freebsd the capabilities capget
reports in that jail (root) or none (other uids); on linux all (root) or none. With --pid, the
live process's five sets and ids; its profile is --profile, else the one bound to its chroot
(verified: a changed profile denies everything). Decisions go through the same host the
runtime asks in \`capctl replay\`, so check and replay always agree.

Exit status: 0 all allowed, 1 any denied, 2 bad input.

Examples:
  capctl check --host freebsd PRIV_NETINET_RAW                    # default jail: denied (jail), exit 1
  capctl check --host freebsd --jail-param allow.raw_sockets=1 CAP_NET_RAW PRIV_NETINET_RAW
  capctl check --host freebsd --jail-param vnet=new --caps '=ep cap_net_raw-e' PRIV_NETINET_RAW   # jail passes, caps deny: exit 1
  capctl check --host freebsd --native --jail-param allow.suser=0 PRIV_CRED_SETUID   # root confers nothing: exit 1
  capctl check --host linux --caps cap_net_bind_service=ep CAP_NET_BIND_SERVICE
  capctl check --host linux --profile strict CAP_SETUID           # the profile denies: exit 1
  capctl check --pid 1 CAP_SYS_ADMIN                              # PID 1's own effective set
  capctl check --json --host freebsd --caps cap_sys_admin=ep --jail-param allow.mount=1 --jail-param enforce_statfs=1 PRIV_VFS_MOUNT`,
    )
    .action((args: string[], o: CliOptions) => {
      if (o.host !== 'linux' && o.host !== 'freebsd')
        throw inputError('usage', `--host must be linux or freebsd, got "${o.host}"`);
      const uid = o.uid !== undefined ? parseIntFlag('--uid', o.uid, { max: UID_MAX, what: 'a uid' }) : undefined;
      if (o.pid !== undefined && (o.uid !== undefined || o.caps !== undefined || o.native))
        throw inputError('usage', '--pid takes the live credential: drop --uid, --caps and --native');
      if (o.syscall !== undefined && !/^[a-z_][a-z0-9_]{0,63}$/.test(o.syscall))
        throw inputError('usage', `--syscall wants a system call name, got "${o.syscall.slice(0, 64)}"`);
      const requests = args.map(parseRequest);
      const jailParams = parseJailParamArgs(o.jailParam);
      let policy: CompiledProfile | undefined =
        o.profile !== undefined ? resolveProfile(o.profile, { stateDir: o.stateDir }) : undefined;
      let cred: Credential | undefined;
      const notes: string[] = [];
      if (o.pid !== undefined) {
        // PID_MAX_LIMIT is 2^22 on 64-bit Linux.
        const pid = parseIntFlag('--pid', o.pid, { min: 1, max: 4194304, what: 'a process id' });
        const st = readProcStatus(pid);
        if (!st) throw inputError('no-such-process', `no process ${pid}`);
        cred = Credential.fromStatus(st);
        const root = readProcRoot(pid);
        if (!policy && root !== null && root !== '/') {
          // A chrooted process: the profile bound to its chroot governs it (verified at use).
          const dir = resolveStateDir({ stateDir: o.stateDir });
          if (findBinding(dir, 'chroot', root)) {
            const bound = profileForTarget(dir, 'chroot', root);
            policy = bound.policy;
            notes.push(
              bound.error
                ? `chroot ${root}: ${bound.error.message}`
                : `chroot ${root}: profile ${bound.policy.name} (bound in ${dir})`,
            );
          }
        }
      }
      // A profile's own jail section is the base; --jail-param overrides it.
      const fromProfile = policy?.profile.jail ?? {};
      const merged = o.host === 'freebsd' ? { ...fromProfile, ...jailParams } : jailParams;
      const results = runCheck(requests, {
        host: o.host,
        jailParams: merged,
        effective: o.caps !== undefined ? parseCapText(o.caps).effective : undefined,
        uid,
        cred,
        policy,
        native: o.native === true,
        syscall: o.syscall,
      });
      for (const n of notes) process.stderr.write(`capctl: ${n}\n`);
      if (o.json) {
        printJson(
          results.map(({ request, decision, stage, reason, errno, chain }) => ({
            request,
            decision,
            stage,
            reason,
            errno,
            chain,
          })),
        );
      } else {
        const out: string[] = [];
        for (const r of results) {
          const errno = r.errno === 0 ? '' : r.errno === 13 ? ', EACCES' : r.errno === 79 ? ', EFTYPE' : ', EPERM';
          out.push(`${r.request}: ${r.decision} (${r.stage}${errno})`);
          for (const line of r.chain) out.push(`  ${line}`);
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }
      if (results.some((r) => r.decision === 'denied')) process.exitCode = 1;
    });
}
