import type { Command } from 'commander';
import { type AuditFilter, compileFilter, Summary } from '../audit/query.js';
import { type ReadProblem, readAuditRecords } from '../audit/reader.js';
import type { AuditRecord, Verdict } from '../audit/record.js';
import { SuggestBuilder, suggestionYaml } from '../audit/suggest.js';
import { inputError } from '../caps/errors.js';
import { registerFollow } from './audit-follow-cmd.js';
import { formatTable, printJson } from './output.js';

interface FilterOpts {
  cap?: string;
  syscall?: string;
  verdict?: string;
  pid?: string;
  profile?: string;
  since?: string;
  until?: string;
  json?: boolean;
}

function filterFrom(o: FilterOpts): AuditFilter {
  const f: AuditFilter = {};
  if (o.cap !== undefined) f.cap = o.cap;
  if (o.syscall !== undefined) f.syscall = o.syscall;
  if (o.verdict !== undefined) {
    if (!['denied', 'complain', 'allowed'].includes(o.verdict)) {
      throw inputError('bad-verdict', `--verdict must be denied, complain or allowed, not "${o.verdict}"`);
    }
    f.verdict = o.verdict as Verdict;
  }
  if (o.pid !== undefined) {
    if (!/^\d+$/.test(o.pid)) throw inputError('bad-pid', `--pid wants a number, not "${o.pid}"`);
    f.tgid = Number(o.pid);
  }
  if (o.profile !== undefined) f.profile = o.profile;
  if (o.since !== undefined) f.since = o.since;
  if (o.until !== undefined) f.until = o.until;
  return f;
}

function withFilterOptions(cmd: Command): Command {
  return cmd
    .option('--cap <CAP>', 'only records about this capability (CAP_NET_RAW, net_raw, 13)')
    .option('--syscall <NAME>', 'only records of this syscall')
    .option('--verdict <V>', 'denied | complain | allowed')
    .option('--pid <PID>', 'only this process (tgid) or thread (tid)')
    .option('--profile <NAME>', 'only decisions made under this profile')
    .option('--since <TIME>', 'ISO time or relative: 10m, 2h, 3d')
    .option('--until <TIME>', 'ISO time or relative')
    .option('--json', 'print JSON');
}

async function scan(files: string[], each: (r: AuditRecord) => void): Promise<ReadProblem[]> {
  const problems: ReadProblem[] = [];
  for (const f of files) {
    try {
      for await (const r of readAuditRecords(f, (p) => problems.push({ ...p, why: `${f}:${p.line}: ${p.why}` })))
        each(r);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT' || e.code === 'EACCES' || e.code === 'EISDIR') {
        throw inputError('unreadable', `cannot read audit log ${f}: ${e.code}`);
      }
      throw err;
    }
  }
  return problems;
}

function reportProblems(problems: ReadProblem[]): void {
  if (problems.length === 0) return;
  process.stderr.write(`capctl: skipped ${problems.length} line(s) that are not capability records\n`);
  for (const p of problems.slice(0, 5)) process.stderr.write(`  ${p.why}\n`);
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
lines, e.g. from /var/log/audit/audit.log or journalctl -k output.

Examples:
  capctl audit query audit.log --cap CAP_NET_RAW --since 1h
  capctl audit summary audit.log /var/log/audit/audit.log
  capctl audit suggest audit.log --name myapp > myapp.yaml`,
    );

  withFilterOptions(
    audit.command('query').description('print matching records').argument('<LOG...>', 'log files, "-" for stdin'),
  )
    .addHelpText('after', '\nExample:\n  capctl audit query audit.log --verdict denied --syscall socket --json | jq .')
    .action(async (files: string[], o: FilterOpts) => {
      const keep = compileFilter(filterFrom(o));
      const rows: AuditRecord[] = [];
      const problems = await scan(files, (r) => {
        if (keep(r)) rows.push(r);
      });
      if (o.json) printJson(rows);
      else {
        const table = rows.map((r) => [
          r.time,
          r.verdict,
          String(r.tgid),
          r.op ? `${r.syscall}(${r.op})` : r.syscall,
          r.cap ?? r.priv ?? '-',
          r.errno || '-',
          `${r.stage}: ${r.reason}`,
        ]);
        process.stdout.write(`${formatTable(['TIME', 'VERDICT', 'PID', 'SYSCALL', 'NEEDS', 'ERRNO', 'WHY'], table)}\n`);
      }
      reportProblems(problems);
    });

  withFilterOptions(
    audit
      .command('summary')
      .description('group records by capability/privilege and verdict')
      .argument('<LOG...>', 'log files, "-" for stdin'),
  )
    .addHelpText('after', '\nExample:\n  capctl audit summary audit.log --since 1d')
    .action(async (files: string[], o: FilterOpts) => {
      const keep = compileFilter(filterFrom(o));
      const summary = new Summary();
      const problems = await scan(files, (r) => {
        if (keep(r)) summary.add(r);
      });
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
      reportProblems(problems);
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
Each needed capability or privilege becomes an allow rule narrowed to the system calls that
needed it, with the evidence as a comment; FreeBSD privileges add the jail parameters they need.
Check the result with: capctl profile validate FILE

Examples:
  capctl audit suggest audit.log --name nginx --extends docker-default > nginx.yaml
  capctl audit suggest /var/log/audit/audit.log --cap CAP_NET_RAW --json`,
    )
    .action(
      async (
        files: string[],
        o: FilterOpts & { name: string; extends?: string; target?: string; complain: boolean },
      ) => {
        if (o.target !== undefined && !['jail', 'chroot', 'container'].includes(o.target)) {
          throw inputError('bad-target', `--target must be jail, chroot or container, not "${o.target}"`);
        }
        const keep = compileFilter(filterFrom(o));
        const builder = new SuggestBuilder({
          name: o.name,
          ...(o.extends !== undefined ? { extendsProfile: o.extends } : {}),
          ...(o.target !== undefined ? { target: o.target as 'jail' | 'chroot' | 'container' } : {}),
          includeComplain: o.complain,
        });
        const problems = await scan(files, (r) => {
          if (keep(r)) builder.add(r);
        });
        const s = builder.build();
        if (o.json) printJson(s);
        else process.stdout.write(suggestionYaml(s, files));
        for (const i of s.ignored.slice(0, 5)) process.stderr.write(`capctl: not suggested: ${i.why}\n`);
        reportProblems(problems);
      },
    );

  registerFollow(audit);
}
