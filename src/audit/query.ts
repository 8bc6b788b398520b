/**
 * Query and summarise audit records. Filters are plain predicates composed once, so a large
 * log is filtered in one pass without building intermediate arrays.
 */
import { parseCapName } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { AuditRecord, Verdict } from './record.js';

export interface AuditFilter {
  cap?: string;
  syscall?: string;
  verdict?: Verdict;
  tgid?: number;
  profile?: string;
  since?: string;
  until?: string;
}

/** Accepts ISO times, and relative ones like "10m", "2h", "3d" (ago). */
export function parseTime(text: string, now = Date.now()): number {
  // At most 9 digits of a unit (30 years in seconds): Number() of more is Infinity or past
  // Date's range. An absolute time must start with its date: Date.parse('1') is the year 2001.
  const rel = /^([0-9]{1,9})([smhd])$/.exec(text);
  if (rel) {
    const unit = { s: 1e3, m: 60e3, h: 3600e3, d: 86400e3 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return now - Number(rel[1]) * unit;
  }
  const t = /^[0-9]{4}-[0-9]{2}-[0-9]{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(t))
    throw inputError('bad-time', `not a time: "${text}" (use ISO 8601 like 2026-11-26T10:00:00Z, or 10m, 2h, 3d)`);
  return t;
}

export function compileFilter(f: AuditFilter, now = Date.now()): (r: AuditRecord) => boolean {
  const tests: ((r: AuditRecord) => boolean)[] = [];
  if (f.cap !== undefined) {
    const n = parseCapName(f.cap);
    tests.push((r) => r.capNumber === n);
  }
  if (f.syscall !== undefined) {
    const s = f.syscall;
    tests.push((r) => r.syscall === s);
  }
  if (f.verdict !== undefined) {
    const v = f.verdict;
    tests.push((r) => r.verdict === v);
  }
  if (f.tgid !== undefined) {
    const p = f.tgid;
    tests.push((r) => r.tgid === p || r.tid === p);
  }
  if (f.profile !== undefined) {
    const p = f.profile;
    tests.push((r) => r.profile === p);
  }
  if (f.since !== undefined) {
    const t = parseTime(f.since, now);
    tests.push((r) => Date.parse(r.time) >= t);
  }
  if (f.until !== undefined) {
    const t = parseTime(f.until, now);
    tests.push((r) => Date.parse(r.time) <= t);
  }
  return (r) => tests.every((t) => t(r));
}

export interface SummaryRow {
  /** What was needed: a capability, a privilege, or (neither known) the syscall. */
  key: string;
  verdict: string;
  count: number;
  syscalls: string[];
  processes: number;
  first: string;
  last: string;
}

/** Group records by (capability or privilege, verdict); most frequent first. */
export class Summary {
  private readonly groups = new Map<string, { row: SummaryRow; syscalls: Set<string>; tgids: Set<number> }>();
  total = 0;

  add(r: AuditRecord): void {
    this.total++;
    const key = r.cap && r.priv ? `${r.cap} (${r.priv})` : (r.cap ?? r.priv ?? `syscall ${r.syscall}`);
    const id = `${key}\0${r.verdict}`;
    let g = this.groups.get(id);
    if (!g) {
      g = {
        row: { key, verdict: r.verdict, count: 0, syscalls: [], processes: 0, first: r.time, last: r.time },
        syscalls: new Set(),
        tgids: new Set(),
      };
      this.groups.set(id, g);
    }
    g.row.count++;
    g.syscalls.add(r.op ? `${r.syscall}(${r.op})` : r.syscall);
    g.tgids.add(r.tgid);
    if (r.time < g.row.first) g.row.first = r.time;
    if (r.time > g.row.last) g.row.last = r.time;
  }

  rows(): SummaryRow[] {
    return [...this.groups.values()]
      .map((g) => ({ ...g.row, syscalls: [...g.syscalls].sort(), processes: g.tgids.size }))
      .sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  }
}
