import type { Command } from 'commander';
import type { AttachRecord } from '../audit/attach-record.js';
import { segmented } from '../audit/parallel.js';
import { type AuditFilter, compileAttachFilter, compileFilter, Summary, type SummaryState } from '../audit/query.js';
import { QueryOut, QueryRows } from '../audit/query-rows.js';
import {
  AuditLogReader,
  formatReadReport,
  type ReadOptions,
  type ReadReport,
  type RecordView,
} from '../audit/reader.js';
import type { Verdict } from '../audit/record.js';
import { own } from '../audit/scan.js';
import { CapctlError, inputError } from '../caps/errors.js';
import { registerFollow } from './audit-follow-cmd.js';
import { PID_MAX_LIMIT, parseIntFlag } from './flags.js';
import { formatTable, printJson } from './output.js';

interface FilterOpts {
  cap?: string;
  syscall?: string;
  verdict?: string;
  pid?: string;
  profile?: string;
  comm?: string;
  exe?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

function filterFrom(o: FilterOpts): AuditFilter {
  const f: AuditFilter = {};
  if (o.cap !== undefined) f.cap = o.cap;
  if (o.syscall !== undefined) f.syscall = o.syscall;
  if (o.verdict !== undefined) {
    if (!['denied', 'complain', 'allowed', 'attached'].includes(o.verdict)) {
      throw inputError('bad-verdict', `--verdict must be denied, complain, allowed or attached, not "${o.verdict}"`);
    }
    f.verdict = o.verdict as Verdict | 'attached';
  }
  if (o.pid !== undefined) {
    f.tgid = parseIntFlag('--pid', o.pid, { min: 1, max: PID_MAX_LIMIT, what: 'a pid' });
  }
  if (o.profile !== undefined) f.profile = o.profile;
  if (o.comm !== undefined) f.comm = o.comm;
  if (o.exe !== undefined) f.exe = o.exe;
  if (o.since !== undefined) f.since = o.since;
  if (o.until !== undefined) f.until = o.until;
  return f;
}

function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--cap <CAP>', 'only records about this capability (CAP_NET_RAW, net_raw, 13)')
    .option('--syscall <NAME>', 'only records of this syscall')
    .option('--verdict <V>', 'denied | complain | allowed | attached (containers started under a profile)')
    .option('--pid <PID>', 'only this process (tgid) or thread (tid)')
    .option('--profile <NAME>', 'only decisions made under this profile')
    .option('--comm <NAME>', 'only this command name (comm)')
    .option('--exe <PATH>', 'only this executable (kernel audit records)')
    .option('--since <TIME>', 'RFC 3339 time (2026-11-26T10:00:00Z), a date, or a duration ago: 10m, 2h, 3d')
    .option('--until <TIME>', 'same forms as --since')
    .option('--json', 'print JSON');
}

/**
 * Read logs (rotated ones oldest first) and pass each record to `each`. Unreadable files are
 * bad input (exit 2); problems inside the logs are counted and reported on stderr afterwards.
 */
async function scan(
  files: string[],
  each: (r: RecordView) => void,
  afterChunk?: () => Promise<void> | void,
  segments?: ReadOptions['segments'],
  onAttached?: (r: AttachRecord) => void,
): Promise<ReadReport> {
  if (files.filter((f) => f === '-').length > 1) throw inputError('usage', 'stdin ("-") can be given once');
  const reader = new AuditLogReader(each, onAttached);
  let progressShown = false;
  try {
    return await reader.read(files, {
      ...(afterChunk ? { afterChunk } : {}),
      ...(segments ? { segments } : {}),
      ...(process.stderr.isTTY
        ? {
            onProgress: (file: string, bytes: number, lines: number) => {
              progressShown = true;
              process.stderr.write(`\r\x1b[K${file}: ${(bytes / 1e6).toFixed(0)} MB, ${lines} lines`);
            },
          }
        : {}),
    });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (
      e.code === 'ENOENT' ||
      e.code === 'EACCES' ||
      e.code === 'EISDIR' ||
      e.code === 'Z_DATA_ERROR' ||
      e.code === 'Z_BUF_ERROR'
    )
      throw new CapctlError(
        'unreadable',
        `cannot read audit log ${reader.currentFile}: ${e.code} (${e.message})`,
        'io',
      );
    throw err;
  } finally {
    if (progressShown) process.stderr.write('\r\x1b[K');
  }
}

function reportProblems(report: ReadReport): void {
  for (const l of formatReadReport(report)) process.stderr.write(`capctl: ${l}\n`);
}

/** Writes to stdout; waits for a slow reader (pipe) instead of buffering. */
function stdoutWrite(text: Buffer | string): Promise<void> | undefined {
  if (process.stdout.write(text)) return undefined;
  return new Promise<void>((r) => process.stdout.once('drain', () => r()));
}

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('query and summarise audit logs (capctl NDJSON, AppArmor, SELinux AVC) and suggest profile changes')
    .addHelpText(
      'after',
      `
Every operation capctl denies (or allows in complain mode) is one JSON line in the audit log
(replay --audit FILE). capctl audit also reads AppArmor "capable" and SELinux capability AVC
lines and auditd's CAPSET, BPRM_FCAPS and failed (EPERM) SYSCALL records, e.g. from
/var/log/audit/audit.log or journalctl -k output. Rotated logs (audit.log.1, audit.log.2.gz)
are read oldest first; .gz is decompressed as it is read. Corrupt lines, records failing the
schema, a torn last line and gaps in a writer's seq are counted on stderr; they never stop a read.

Examples:
  capctl audit query audit.log --cap CAP_NET_RAW --since 1h
  capctl audit summary audit.log /var/log/audit/audit.log
  capctl audit suggest audit.log --name myapp > myapp.yaml`,
    );

  withFilterOptions(
    audit.command('query').description('print matching records').argument('<LOG...>', 'log files, "-" for stdin'),
  )
    .addHelpText(
      'after',
      '\nExamples:\n  capctl audit query audit.log --verdict denied --syscall socket --json | jq .\n  capctl audit query audit.log --verdict attached --profile ping',
    )
    .action(async (files: string[], o: FilterOpts) => {
      const filter = filterFrom(o);
      const now = Date.now();
      const keep = compileFilter(filter, now);
      const keepAttached = compileAttachFilter(filter, now);
      const json = o.json === true;
      // Rows go out after each chunk read (so from a pipe as it arrives), never all at the end.
      const rows = new QueryRows(json);
      const out = new QueryOut(json, stdoutWrite);
      await out.header();
      const flush = async () => {
        let wait: Promise<void> | undefined;
        // Written from the rows' own buffer; if stdout queued them (a slow pipe) it keeps that one.
        rows.drain((b) => {
          wait = out.rows(b);
          return process.stdout.writableLength > 0;
        });
        if (wait) await wait;
      };
      const report = await scan(
        files,
        (r) => {
          if (keep(r)) rows.add(r);
        },
        flush,
        segmented({
          job: { kind: 'query', filter, now, json },
          afterChunk: flush,
          apply: async (bytes) => {
            await flush();
            await out.rows(bytes as Uint8Array);
          },
        }),
        (a) => {
          if (keepAttached(a)) rows.addAttached(a);
        },
      );
      await flush();
      await out.end();
      reportProblems(report);
    });

  withFilterOptions(
    audit
      .command('summary')
      .description(
        'group records by capability/privilege and verdict (containers started under a profile: by profile, PROCS counting containers)',
      )
      .argument('<LOG...>', 'log files, "-" for stdin'),
  )
    .addHelpText('after', '\nExample:\n  capctl audit summary audit.log --since 1d')
    .action(async (files: string[], o: FilterOpts) => {
      const filter = filterFrom(o);
      const now = Date.now();
      const keep = compileFilter(filter, now);
      const keepAttached = compileAttachFilter(filter, now);
      const summary = new Summary();
      const report = await scan(
        files,
        (r) => {
          if (keep(r)) summary.add(r);
        },
        undefined,
        segmented({
          job: { kind: 'summary', filter, now },
          apply: (state) => summary.merge(state as SummaryState),
        }),
        (a) => {
          if (keepAttached(a)) summary.addAttached(a);
        },
      );
      const rows = summary.rows();
      if (o.json) printJson({ total: summary.total, groups: rows });
      else {
        const table = rows.map((r) => [
          r.key,
          r.verdict,
          String(r.count),
          String(r.processes),
          r.syscalls.join(' '),
          r.first,
          r.last,
        ]);
        process.stdout.write(
          `${formatTable(['NEEDS', 'VERDICT', 'COUNT', 'PROCS', 'SYSCALLS', 'FIRST', 'LAST'], table)}\n${summary.total} record(s)\n`,
        );
      }
      reportProblems(report);
    });

  withFilterOptions(
    audit
      .command('suggest')
      .description('turn denials into a profile that would have allowed them (YAML on stdout)')
      .argument('<LOG...>', 'log files, "-" for stdin'),
  )
    .option('--name <NAME>', 'name of the suggested profile', 'suggested')
    .option('--extends <PROFILE>', 'make the suggestion extend this profile (e.g. k8s-restricted)')
    .option('--target <KIND>', 'jail | chroot | container')
    .option('--no-complain', 'ignore complain-mode records (by default they count as needs)')
    .addHelpText(
      'after',
      `
Standalone (default): every set stated and holding only the needed capabilities, each need an
allow rule narrowed to the system calls that needed it (evidence as a comment), and a deny of
everything else. With --extends BASE: each allow gets one priority above BASE's highest deny
naming it; a BASE deny at priority 1000 (strict) cannot be outranked and is an error.
Check the result with: capctl profile validate FILE

Examples:
  capctl audit suggest audit.log --name nginx > nginx.yaml
  capctl audit suggest audit.log --name nginx --extends docker-default > nginx.yaml
  capctl audit suggest /var/log/audit/audit.log --cap CAP_NET_RAW --json`,
    )
    .action(
      async (
        files: string[],
        o: FilterOpts & { name: string; extends?: string; target?: string; complain: boolean },
      ) => {
        // Loaded here, not with the module: `audit query` and `summary` start without profiles.
        const [{ profileSchema }, { resolveProfile }, { SuggestBuilder, suggestionYaml }, { suggestBase }] =
          await Promise.all([
            import('../policy/schema.js'),
            import('../policy/index.js'),
            import('../audit/suggest.js'),
            import('./suggest-base.js'),
          ]);
        // The name goes into the profile: checked here against the schema's own pattern, so
        // the suggestion never fails `profile validate` for its name.
        const namePattern = (profileSchema().properties as { name: { pattern: string } }).name.pattern;
        if (!new RegExp(namePattern).test(o.name)) {
          throw inputError(
            'bad-name',
            `--name must match ${namePattern} (a profile name), not ${JSON.stringify(o.name.slice(0, 80))}`,
          );
        }
        if (o.target !== undefined && !['jail', 'chroot', 'container'].includes(o.target)) {
          throw inputError('bad-target', `--target must be jail, chroot or container, not "${o.target}"`);
        }
        const keep = compileFilter(filterFrom(o));
        const builder = new SuggestBuilder({
          name: o.name,
          ...(o.extends !== undefined
            ? { extends: { ref: o.extends, base: suggestBase(resolveProfile(o.extends)) } }
            : {}),
          ...(o.target !== undefined ? { target: o.target as 'jail' | 'chroot' | 'container' } : {}),
          includeComplain: o.complain,
        });
        const report = await scan(files, (r) => {
          if (keep(r)) builder.add(own(r));
        });
        const s = builder.build();
        if (o.json) printJson(s);
        else process.stdout.write(suggestionYaml(s, files));
        for (const i of s.ignored.slice(0, 5)) process.stderr.write(`capctl: not suggested: ${i.why}\n`);
        reportProblems(report);
      },
    );

  registerFollow(audit);
}
