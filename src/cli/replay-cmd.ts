/**
 * `capctl replay`: replay strace traces through the runtime and report where the model and the
 * kernel disagree. Thin: flags → ReplayOptions → src/runtime/replay.ts → output.
 */
import { createReadStream, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { PROFILE_COMPLAIN_STAGE, recordFromDecision, wanted } from '../audit/from-decision.js';
import { type AuditWriter, createAuditWriter } from '../audit/writer.js';
import { CAPABILITIES } from '../caps/catalog.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { parseCapText } from '../caps/text.js';
import { decodeFileCaps, encodeFileCaps, type FileCaps, fileCapsFromTriple } from '../caps/xattr.js';
import { CAP_COMPLAIN, CAP_DENY, type CompiledProfile, describeRule, PRIV_COMPLAIN } from '../policy/compile.js';
import { resolveProfile } from '../policy/index.js';
import { privName } from '../priv/catalog.js';
import type { Credential } from '../runtime/credential.js';
import { createFreeBSDHost, restrictToHost } from '../runtime/freebsd-host.js';
import { type DecisionEvent, linuxHost, type PrivilegeHost } from '../runtime/host.js';
import {
  type Divergence,
  ReplayInputError,
  ReplayMalformedError,
  type ReplaySummary,
  replayStream,
} from '../runtime/replay.js';
import { parseIntFlag } from './flags.js';
import { printJson } from './output.js';

interface ReplayOpts {
  status?: string;
  securebits?: string;
  fileCaps: string[];
  check?: boolean;
  strict?: boolean;
  json?: boolean;
  host: string;
  jailParam: string[];
  profile?: string;
  audit?: string;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

/** `PATH=TEXT` with TEXT in libcap's text form (`cap_net_raw=ep`); an empty TEXT is a plain file. */
export function parseFileCapsFlag(spec: string): [string, FileCaps | null] {
  const k = spec.indexOf('=');
  if (k <= 0)
    throw inputError('usage', `--file-caps wants PATH=TEXT (e.g. /usr/bin/ping=cap_net_raw=ep), got "${spec}"`);
  const path = spec.slice(0, k);
  const text = spec.slice(k + 1);
  if (text.trim() === '') return [path, null];
  const parsed = parseCapText(text);
  return [path, decodeFileCaps(encodeFileCaps(fileCapsFromTriple(parsed, parsed.beyond)))];
}

function parseJailParams(list: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const k = p.indexOf('=');
    if (k <= 0) throw inputError('usage', `--jail-param wants K=V (e.g. allow.raw_sockets=1), got "${p}"`);
    out[p.slice(0, k)] = p.slice(k + 1);
  }
  return out;
}

/**
 * A Linux host restricted by a profile: the profile decides each use of a capability for the
 * caller's euid and system call (conditions included) before Linux's own effective-set test.
 * In complain mode the profile denies nothing (decideCap answers CAP_COMPLAIN, not CAP_DENY);
 * complainAware marks what it would have denied.
 */
function profiledLinuxHost(policy: CompiledProfile): PrivilegeHost {
  return {
    kind: 'linux',
    capable(cred: Credential, cap: number, op) {
      if (policy.decideCap(cap, cred.euid, op.syscall) !== CAP_DENY) return linuxHost.capable(cred, cap, op);
      const r = policy.capRuleFor(cap, cred.euid, op.syscall);
      const rule = r >= 0 ? policy.rules[r] : undefined;
      const name = CAPABILITIES[cap]?.name ?? `cap ${cap}`;
      const reason = `profile ${policy.name} ${rule ? `denies ${name}: ${describeRule(rule)}` : `does not allow ${name}`}`;
      return { errno: 1, stage: 'profile', reason };
    },
  };
}

/**
 * Any host under a complain-mode profile: an allowed decision is re-asked in the profile's
 * own terms — would enforce mode have refused this privilege (FreeBSD host), or this
 * capability, for this uid and call? — and marked PROFILE_COMPLAIN_STAGE for the audit log
 * when it would have.
 */
function complainAware(host: PrivilegeHost, policy: CompiledProfile): PrivilegeHost {
  return {
    kind: host.kind,
    capable(cred: Credential, cap: number, op) {
      const d = host.capable(cred, cap, op);
      if (d.errno !== 0) return d;
      const privWouldDeny = d.priv !== undefined && policy.decidePriv(d.priv, cred.euid, op.syscall) === PRIV_COMPLAIN;
      const capWouldDeny = policy.decideCap(cap, cred.euid, op.syscall) === CAP_COMPLAIN;
      if (!privWouldDeny && !capWouldDeny) return d;
      const what = privWouldDeny ? privName(d.priv!) : (CAPABILITIES[cap]?.name ?? `cap ${cap}`);
      return {
        ...d,
        stage: PROFILE_COMPLAIN_STAGE,
        reason: `complain mode: profile ${policy.name} would deny ${what}; ${d.reason}`,
      };
    },
  };
}

/**
 * What a divergence involved, from the decisions the host made for that trace line: the
 * capability (or FreeBSD privilege) checked, the stage and reason the host gave, and the profile
 * rule that governs it. A line with no decision (capget data, a prctl the model answered without
 * a check) has none: its recorded and predicted results say what differs.
 */
export function involvedIn(evs: readonly DecisionEvent[], policy: CompiledProfile | undefined): string[] {
  const out: string[] = [];
  for (const ev of evs) {
    const subject =
      ev.priv !== undefined
        ? privName(ev.priv)
        : ev.cap >= 0
          ? (CAPABILITIES[ev.cap]?.name ?? `cap ${ev.cap}`)
          : ev.syscall;
    let text = `${subject} (${ev.errno === 0 ? 'allowed' : 'denied'} by ${ev.stage}: ${ev.reason})`;
    if (policy && ev.stage !== 'profile' && (ev.priv !== undefined || ev.cap >= 0)) {
      const r = ev.priv !== undefined ? policy.privRuleFor(ev.priv) : policy.capRuleFor(ev.cap);
      text += `; profile ${policy.name}: ${r < 0 ? 'no rule' : describeRule(policy.rules[r]!)}`;
    }
    if (!out.includes(text)) out.push(text);
  }
  return out;
}

function formatDivergence(d: Divergence, involves: readonly string[]): string {
  const inv = involves.map((t) => `  involves:  ${t}\n`).join('');
  return `${d.file}:${d.line}: pid ${d.pid}: ${d.call}\n  recorded:  ${d.recorded}\n  predicted: ${d.predicted}\n${inv}`;
}

function summaryLine(t: { calls: number; matched: number; diverged: number; notModeled: number }): string {
  return `replayed ${t.calls} calls: ${t.matched} matched, ${t.diverged} diverged, ${t.notModeled} not modeled`;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('replay strace traces through the per-thread capability model and report divergences')
    .argument('<TRACE...>', 'strace output files (strace -f -o FILE …, or -f on stderr); "-" reads stdin')
    .requiredOption('--status <FILE>', '/proc/PID/status of the process that started the traced program')
    .option('--securebits <N>', 'securebits of that process (not in /proc/PID/status; e.g. 0x10)', '0')
    .option(
      '--file-caps <PATH=TEXT>',
      'file capabilities of an executed file, e.g. /usr/bin/ping=cap_net_raw=ep (repeatable)',
      collect,
      [],
    )
    .option('--check', 'exit 1 when any call diverged')
    .option('--strict', 'a malformed trace line is fatal (exit 2) instead of skipped')
    .option('--json', 'print the summary and divergences as JSON')
    .option('--host <KIND>', 'privilege decisions by "linux" or "freebsd" (priv_check in a jail)', 'linux')
    .option(
      '--jail-param <K=V>',
      'jail(8) parameter for --host freebsd, e.g. allow.raw_sockets=1 (repeatable)',
      collect,
      [],
    )
    .option(
      '--audit <FILE>',
      "append audit records (NDJSON) of denials to FILE (always a path), as the profile's audit settings say; every record is kept",
    )
    .option(
      '--profile <FILE>',
      'YAML profile whose decisions apply (FreeBSD priv_check stages; on linux its capability mask)',
    )
    .addHelpText(
      'after',
      `
Record a trace and the starting credential (as root; capsh keeps CAP_SETUID/CAP_SETGID until
--user has changed ids and groups, then leaves only CAP_NET_RAW, ambient so ping inherits it):
  cat /proc/$$/status > status.txt
  strace -f -o trace.txt capsh --caps=cap_net_raw,cap_setuid,cap_setgid+eip --keep=1 --user=nobody --caps=cap_net_raw+eip --addamb=cap_net_raw -- -c 'ping -c1 ::1'

Examples:
  capctl replay trace.txt --status status.txt
  capctl replay trace.txt --status status.txt --check          # exit 1 on any divergence
  capctl replay a.txt b.txt --status status.txt --json
  capctl replay trace.txt --status status.txt --file-caps /usr/bin/ping=cap_net_raw=ep
  capctl replay trace.txt --status status.txt --host freebsd --jail-param allow.raw_sockets=1

Each TRACE is replayed independently from the same starting credential. Every divergence is
printed with file, line, recorded and predicted result and, when the host decided it, the
capability or privilege involved with the stage, reason and profile rule; then one summary line:
  replayed N calls: M matched, D diverged, U not modeled`,
    )
    .action(async (traces: string[], opts: ReplayOpts) => {
      const statusPath = opts.status as string;
      if (statusPath === '-' && traces.includes('-'))
        throw inputError('usage', 'stdin ("-") can feed either --status or a TRACE, not both');
      let status: string;
      try {
        status = readFileSync(statusPath === '-' ? 0 : statusPath, 'utf8');
      } catch (e) {
        throw new CapctlError('io', `cannot read --status ${statusPath}: ${(e as Error).message}`, 'io');
      }
      const securebits = parseIntFlag('--securebits', opts.securebits ?? '0', {
        max: 0xfff,
        hex: true,
        what: 'securebits',
      });
      const fileCaps = new Map<string, FileCaps>();
      for (const spec of opts.fileCaps) {
        const [p, fc] = parseFileCapsFlag(spec);
        if (fc) fileCaps.set(p, fc);
      }
      if (opts.host !== 'linux' && opts.host !== 'freebsd')
        throw inputError('usage', `--host must be linux or freebsd, got "${opts.host}"`);
      if (opts.jailParam.length > 0 && opts.host !== 'freebsd')
        throw inputError('usage', '--jail-param needs --host freebsd');
      const policy = opts.profile !== undefined ? resolveProfile(opts.profile) : undefined;
      let host: PrivilegeHost = linuxHost;
      let adjust: ((c: Credential) => void) | undefined;
      if (opts.host === 'freebsd') {
        const fb = createFreeBSDHost({ jailParams: parseJailParams(opts.jailParam), policy });
        host = fb;
        adjust = (c) => restrictToHost(fb, c);
      } else if (policy) host = profiledLinuxHost(policy);
      if (policy?.mode === 'complain') host = complainAware(host, policy);

      if (traces.filter((t) => t === '-').length > 1) throw inputError('usage', 'stdin ("-") can be given once');
      // Audit: denials (and complain-mode passes) as the profile's audit settings ask; without a
      // profile, every denial.
      const level = policy?.audit.log ?? 'denied';
      // An offline replay keeps every record: the profile's rate limit is for live sources
      // (follow, run), where a flood costs the host; here it would only hide evidence.
      if (opts.audit === '-')
        throw inputError(
          'usage',
          '--audit wants a file: stdout carries the replay report (use /dev/stdout if you mean it)',
        );
      const audit: AuditWriter | undefined =
        opts.audit !== undefined ? createAuditWriter({ dest: opts.audit, ratePerSecond: 0 }) : undefined;
      const summaries: ReplaySummary[] = [];
      const divergences: (Divergence & { involves: string[] })[] = [];
      // The decisions of the trace line being replayed: a divergence on that line names them.
      let lineEvents: { file: string; line: number; evs: DecisionEvent[] } = { file: '', line: -1, evs: [] };
      const progress = process.stderr.isTTY && !opts.json;
      let malformedShown = 0;
      for (const trace of traces) {
        const stream = trace === '-' ? process.stdin : createReadStream(trace, { highWaterMark: 1 << 20 });
        await new Promise<void>((resolve, reject) => {
          if (trace === '-') resolve();
          stream.once('open', () => resolve());
          stream.once('error', (e: Error) => reject(new CapctlError('io', `cannot read ${trace}: ${e.message}`, 'io')));
        });
        let last = Date.now();
        let shown = false;
        const onProgress = progress
          ? (bytes: number, lines: number) => {
              const now = Date.now();
              if (now - last < 1000) return;
              last = now;
              shown = true;
              process.stderr.write(`\r${trace}: ${(bytes / 1e6).toFixed(1)} MB, ${lines} lines`);
            }
          : undefined;
        try {
          const s = await replayStream(stream, {
            status,
            securebits,
            fileCaps,
            host,
            adjustInitialCredential: adjust,
            onDecisionAt: (ev, where) => {
              if (where.file !== lineEvents.file || where.line !== lineEvents.line)
                lineEvents = { file: where.file, line: where.line, evs: [] };
              lineEvents.evs.push(ev);
              if (audit && wanted(ev, level))
                audit.write(recordFromDecision(ev, { ...(policy ? { profile: policy.name } : {}), where }));
            },
            file: trace,
            strict: opts.strict,
            onProgress,
            onDivergence: (d) => {
              const evs = lineEvents.file === d.file && lineEvents.line === d.line ? lineEvents.evs : [];
              const involves = involvedIn(evs, policy);
              if (opts.json) divergences.push({ ...d, involves });
              else process.stdout.write(formatDivergence(d, involves));
            },
            onMalformed: (m) => {
              if (malformedShown++ < 20)
                process.stderr.write(`${trace}:${m.line}: malformed line skipped (${m.reason})\n`);
            },
          });
          summaries.push(s);
        } catch (e) {
          if (e instanceof ReplayMalformedError) throw inputError('malformed-trace', e.message);
          if (e instanceof ReplayInputError) throw inputError('bad-status', `--status ${statusPath}: ${e.message}`);
          throw e;
        } finally {
          if (shown) process.stderr.write('\r\x1b[K');
        }
      }
      const total = { calls: 0, matched: 0, diverged: 0, notModeled: 0, malformed: 0 };
      for (const s of summaries) {
        total.calls += s.calls;
        total.matched += s.matched;
        total.diverged += s.diverged;
        total.notModeled += s.notModeled;
        total.malformed += s.malformed;
      }
      if (malformedShown > 20) process.stderr.write(`capctl: ${malformedShown - 20} more malformed lines not shown\n`);
      if (audit) {
        audit.close();
        const dropped = audit.suppressed > 0 ? ` (${audit.suppressed} more suppressed by the rate limit)` : '';
        process.stderr.write(`capctl: ${audit.written} audit record(s) appended to ${opts.audit}${dropped}\n`);
      }
      if (opts.json) printJson({ summary: summaryLine(total), total, traces: summaries, divergences });
      else process.stdout.write(`${summaryLine(total)}\n`);
      if (opts.check && total.diverged > 0) process.exitCode = 1;
    });
}
