/**
 * `capctl replay`: replay strace traces through the runtime and report where the model and the
 * kernel disagree. Thin: flags → ReplayOptions → src/runtime/replay.ts → output.
 */
import { createReadStream } from 'node:fs';
import type { Command } from 'commander';
import { ReplayAuditSink } from '../audit/from-decision.js';
import { type AuditWriter, createAuditWriter } from '../audit/writer.js';
import { CAPABILITIES } from '../caps/catalog.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { parseCapText } from '../caps/text.js';
import { decodeFileCaps, encodeFileCaps, type FileCaps, fileCapsFromTriple } from '../caps/xattr.js';
import { hostFor } from '../live/hosts.js';
import { isRecording, loadRecording } from '../live/record.js';
import { type CompiledProfile, describeRule } from '../policy/compile.js';
import { resolveProfile } from '../policy/index.js';
import { privName } from '../priv/catalog.js';
import type { DecisionEvent } from '../runtime/host.js';
import {
  type Divergence,
  ReplayInputError,
  ReplayMalformedError,
  type ReplayOptions,
  type ReplaySummary,
  replayStream,
} from '../runtime/replay.js';
import { parseIntFlag } from './flags.js';
import { readSmallInput } from './input-file.js';
import { printJson } from './output.js';

interface ReplayOpts {
  status?: string;
  kernel?: string;
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
    .argument(
      '<TRACE...>',
      'recording directories (capctl record) or strace output files (strace -f -o FILE …, or -f on stderr); "-" reads stdin',
    )
    .option(
      '--status <FILE>',
      '/proc/PID/status of the process that started the traced program (a recording has its own)',
    )
    .option('--securebits <N>', 'securebits of that process (not in /proc/PID/status; e.g. 0x10; default 0)')
    .option(
      '--kernel <RELEASE>',
      'uname -r of the kernel that ran the trace (a recording has its own; default: 6.18 rules, with a warning)',
    )
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
Record with capctl record (every fact a replay needs; then no flags are needed):
  capctl record --out rec -- ping -c1 127.0.0.1
  capctl replay rec --check

Or by hand: a trace and the starting credential (as root; capsh keeps CAP_SETUID/CAP_SETGID
until --user has changed ids and groups, then leaves only CAP_NET_RAW, ambient so ping inherits it):
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
      const statusPath = opts.status;
      if (statusPath === '-' && traces.includes('-'))
        throw inputError('usage', 'stdin ("-") can feed either --status or a TRACE, not both');
      // A /proc/PID/status is about 1.5 KB; 64 KiB leaves room and bounds /dev/zero.
      const status = statusPath === undefined ? undefined : readSmallInput(statusPath, '--status', 64 * 1024);
      const securebits =
        opts.securebits === undefined
          ? undefined
          : parseIntFlag('--securebits', opts.securebits, { max: 0xfff, hex: true, what: 'securebits' });
      const recordings = new Map<string, ReturnType<typeof loadRecording>>();
      for (const t of traces) {
        if (t !== '-' && isRecording(t)) {
          try {
            recordings.set(t, loadRecording(t));
          } catch (e) {
            if (e instanceof ReplayInputError) throw inputError('bad-recording', `${t}: ${e.message}`);
            throw new CapctlError('io', `cannot read recording ${t}: ${(e as Error).message}`, 'io');
          }
        } else if (status === undefined)
          throw inputError(
            'usage',
            `${t} is a plain trace: --status FILE is required (or record it with capctl record)`,
          );
      }
      const fileCaps = new Map<string, FileCaps>();
      for (const spec of opts.fileCaps) {
        const [p, fc] = parseFileCapsFlag(spec);
        if (fc) fileCaps.set(p, fc);
      }
      const policy = opts.profile !== undefined ? resolveProfile(opts.profile) : undefined;
      const { host, adjust } = hostFor(opts.host, opts.jailParam, policy);

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
        const rec = recordings.get(trace);
        // A recording supplies its facts; flags given on the command line override them.
        const base: ReplayOptions = rec ? rec.options : { status: status as string };
        const stream =
          trace === '-' ? process.stdin : createReadStream(rec ? rec.trace : trace, { highWaterMark: 1 << 20 });
        await new Promise<void>((resolve, reject) => {
          if (trace === '-') resolve();
          stream.once('open', () => resolve());
          stream.once('error', (e: Error) => reject(new CapctlError('io', `cannot read ${trace}: ${e.message}`, 'io')));
        });
        const sink = audit
          ? new ReplayAuditSink(level, policy ? { profile: policy.name } : {}, (r) => audit.write(r))
          : undefined;
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
            ...base,
            status: status ?? base.status,
            securebits: securebits ?? base.securebits ?? 0,
            kernel: opts.kernel ?? base.kernel,
            fileCaps,
            host,
            adjustInitialCredential: adjust,
            onDecisionAt: (ev, where) => {
              if (where.file !== lineEvents.file || where.line !== lineEvents.line)
                lineEvents = { file: where.file, line: where.line, evs: [] };
              lineEvents.evs.push(ev);
              sink?.decision(ev, where);
            },
            onFirstPid: sink ? (pid) => sink.firstPid(pid) : undefined,
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
          sink?.end();
          summaries.push(s);
        } catch (e) {
          if (e instanceof ReplayMalformedError) throw inputError('malformed-trace', e.message);
          if (e instanceof ReplayInputError)
            throw inputError(
              'bad-status',
              `${statusPath !== undefined ? `--status ${statusPath}` : trace}: ${e.message}`,
            );
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
      // What the replay had to assume (an unrecorded or unknown kernel release), once per text.
      const warned = new Set<string>();
      for (const s of summaries) for (const w of s.warnings) warned.add(w);
      for (const w of warned) process.stderr.write(`capctl: warning: ${w}\n`);
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
