/**
 * Audit reader: streams a log line by line (memory stays flat on large logs) and yields
 * capctl records. It also understands the capability denials other tools already log, so a
 * profile can be suggested from logs people have today:
 *   - AppArmor:  apparmor="DENIED" operation="capable" ... capability=23  capname="sys_nice"
 *   - SELinux:   avc:  denied  { net_raw } for  pid=... comm="x" capability=13 ... tclass=capability
 * Lines that are neither are counted and reported with their line numbers, never fatal.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { capByName, capInfo } from '../caps/catalog.js';
import { type AuditRecord, isAuditRecord } from './record.js';

export interface ReadProblem {
  line: number;
  why: string;
}

export interface ReadResult {
  records: number;
  skipped: ReadProblem[];
}

const APPARMOR =
  /apparmor="(DENIED|ALLOWED)"\s+operation="capable".*?\bpid=(\d+).*?\bcomm="([^"]*)".*?\bcapability=(\d+)/;
const SELINUX =
  /avc:\s+denied\s+\{\s*([a-z_0-9 ]+?)\s*\}\s+for\s+pid=(\d+)\s+comm="([^"]*)".*?\btclass=(cap_userns|cap2_userns|capability2?)\b(?:.*?permissive=(\d))?/;
const AUDIT_TIME = /audit\((\d+)(?:\.(\d+))?:\d+\)/;

function auditTime(line: string): string {
  const m = AUDIT_TIME.exec(line);
  if (!m) return new Date(0).toISOString();
  return new Date(Number(m[1]) * 1000 + Number((m[2] ?? '0').padEnd(3, '0').slice(0, 3))).toISOString();
}

/** Parse one line of any supported format; undefined when it is not a capability record. */
export function parseAuditLine(line: string): AuditRecord | AuditRecord[] | undefined {
  const t = line.trim();
  if (t === '') return undefined;
  if (t.startsWith('{')) {
    const v: unknown = JSON.parse(t);
    return isAuditRecord(v) ? v : undefined;
  }
  let m = APPARMOR.exec(t);
  if (m) {
    const cap = Number(m[4]);
    return {
      time: auditTime(t),
      verdict: m[1] === 'DENIED' ? 'denied' : 'complain',
      host: 'linux',
      syscall: 'capable',
      cap: capInfo(cap)?.name ?? `CAP_${cap}`,
      capNumber: cap,
      errno: m[1] === 'DENIED' ? 'EPERM' : '',
      stage: 'apparmor',
      reason: 'AppArmor profile lacks the capability rule',
      tid: Number(m[2]),
      tgid: Number(m[2]),
      comm: m[3] ?? '',
    };
  }
  m = SELINUX.exec(t);
  if (m) {
    const out: AuditRecord[] = [];
    const high = m[4] === 'capability2' || m[4] === 'cap2_userns';
    for (const perm of (m[1] ?? '').split(/\s+/)) {
      const cap = capByName(perm);
      if (cap === undefined || cap >= 32 !== high) continue;
      out.push({
        time: auditTime(t),
        verdict: m[5] === '1' ? 'complain' : 'denied',
        host: 'linux',
        syscall: 'capable',
        cap: capInfo(cap)?.name ?? `CAP_${cap}`,
        capNumber: cap,
        errno: m[5] === '1' ? '' : 'EPERM',
        stage: 'selinux',
        reason: `SELinux policy denies ${m[4]} ${perm}`,
        tid: Number(m[2]),
        tgid: Number(m[2]),
        comm: m[3] ?? '',
      });
    }
    return out.length ? out : undefined;
  }
  return undefined;
}

/** Longest audit line kept (characters); capctl's own records are well under 4 KiB. */
const MAX_LINE = 1 << 20;

/**
 * Lines of a stream ("\n" or "\r\n"), as readline gives them, except that a line longer than
 * MAX_LINE is not kept: it comes out as null (readline would hold all of /dev/zero).
 */
async function* boundedLines(input: Readable): AsyncGenerator<string | null> {
  input.setEncoding('utf8');
  let carry = '';
  let overlong = false;
  const out = (l: string) => (l.endsWith('\r') ? l.slice(0, -1) : l);
  for await (const chunk of input as AsyncIterable<string>) {
    let start = 0;
    let nl = chunk.indexOf('\n');
    while (nl >= 0) {
      if (overlong) yield null;
      else yield out(carry + chunk.slice(start, nl));
      carry = '';
      overlong = false;
      start = nl + 1;
      nl = chunk.indexOf('\n', start);
    }
    if (!overlong) carry += chunk.slice(start);
    if (carry.length > MAX_LINE) {
      overlong = true;
      carry = '';
    }
  }
  if (overlong) yield null;
  else if (carry !== '') yield out(carry);
}

/** Stream records from a file ('-' = stdin) or a readable; problems go to `onProblem`. */
export async function* readAuditRecords(
  source: string | Readable,
  onProblem: (p: ReadProblem) => void = () => {},
): AsyncGenerator<AuditRecord> {
  const input = typeof source === 'string' ? (source === '-' ? process.stdin : createReadStream(source)) : source;
  let n = 0;
  for await (const line of boundedLines(input)) {
    n++;
    if (line === null) {
      onProblem({ line: n, why: `line longer than ${MAX_LINE} characters` });
      continue;
    }
    let parsed: ReturnType<typeof parseAuditLine>;
    try {
      parsed = parseAuditLine(line);
    } catch (err) {
      onProblem({ line: n, why: `not JSON: ${(err as Error).message}` });
      continue;
    }
    if (parsed === undefined) {
      if (line.trim() !== '' && !line.includes('"verdict":"suppressed"')) {
        onProblem({ line: n, why: 'not a capability audit record' });
      }
      continue;
    }
    if (Array.isArray(parsed)) yield* parsed;
    else yield parsed;
  }
}
