/**
 * Query and summarise audit records. Filters are plain predicates composed once, so a large
 * log is filtered in one pass without building intermediate arrays.
 */

import parseDuration from 'parse-duration';
import { parseCapName } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { AttachRecord } from './attach-record.js';
import { type AuditRecord, RFC3339, type Verdict } from './record.js';
import { ScannedRecord } from './scan.js';

export interface AuditFilter {
  cap?: string;
  syscall?: string;
  /** 'attached': only containers started under a profile (capctl-oci-runtime's records). */
  verdict?: Verdict | 'attached';
  tgid?: number;
  profile?: string;
  comm?: string;
  exe?: string;
  since?: string;
  until?: string;
}

/** One or more <number><unit> terms: 10m, 1h30m, 1.5h, 2 d. */
const DURATION = /^(\d+(\.\d+)?\s*(ms|s|sec|m|min|h|hr|d|w)\s*)+$/i;

/** A full date-only form: midnight UTC of that day (as ECMAScript reads it, never local time). */
const DATE_ONLY = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;

/**
 * --since/--until: an RFC 3339 time with its zone (2026-11-26T10:00:00Z, ...+01:00), a date
 * (2026-11-26 = midnight UTC), or a duration ago (10m, 2h, 3d, 1h30m).
 *
 * Date.parse alone was the parser before, and "2026-11-26 10:00" (a space, no zone) parsed as
 * *local* time: the same command gave different answers on hosts in different zones. A time
 * without a zone is now refused. Durations go through parse-duration (well kept, typed, handles
 * compound forms like 1h30m that a regex here did not); a bare number is refused, since
 * parse-duration would read it as milliseconds.
 */
export function parseTime(text: string, now = Date.now()): number {
  const bad = (hint: string) =>
    inputError(
      'bad-time',
      `not a time: "${text}"${hint} (use RFC 3339 like 2026-11-26T10:00:00Z or 2026-11-26T11:00:00+01:00, a date like 2026-11-26, or a duration ago like 10m, 2h, 3d)`,
    );
  if (RFC3339.test(text) || DATE_ONLY.test(text)) {
    const t = Date.parse(text);
    if (Number.isNaN(t)) throw bad(': no such day');
    return t;
  }
  if (/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d/.test(text))
    throw bad(': a time needs T between date and time and a zone (Z or +hh:mm)');
  if (/^\s*\d+(\.\d+)?\s*$/.test(text)) throw bad(': a duration needs a unit');
  // Only whole units parse-duration knows: its lenient reading takes "1e3m" for 1000 minutes.
  const ms = DURATION.test(text.trim()) ? parseDuration(text) : null;
  if (ms === null || ms === undefined || !Number.isFinite(ms) || ms < 0) throw bad('');
  return now - ms;
}

/** Anything compileFilter and Summary read: a plain record or a scanned line's view. */
type RecordLike = Pick<
  AuditRecord,
  'time' | 'verdict' | 'syscall' | 'op' | 'cap' | 'capNumber' | 'priv' | 'tid' | 'tgid' | 'profile' | 'comm' | 'exe'
>;

export function compileFilter(f: AuditFilter, now = Date.now()): (r: RecordLike) => boolean {
  const tests: ((r: RecordLike) => boolean)[] = [];
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
  if (f.comm !== undefined) {
    const c = f.comm;
    tests.push((r) => r.comm === c);
  }
  if (f.exe !== undefined) {
    const x = f.exe;
    tests.push((r) => r.exe === x);
  }
  if (f.since !== undefined) {
    const t = parseTime(f.since, now);
    tests.push((r) => Date.parse(r.time) >= t);
  }
  if (f.until !== undefined) {
    const t = parseTime(f.until, now);
    tests.push((r) => Date.parse(r.time) <= t);
  }
  if (tests.length === 0) return () => true;
  if (tests.length === 1) return tests[0]!;
  if (tests.length === 2) {
    const [a, b] = tests as [(r: RecordLike) => boolean, (r: RecordLike) => boolean];
    return (r) => a(r) && b(r);
  }
  return (r) => tests.every((t) => t(r));
}

/**
 * The same filter for attach records (a container started under a profile): they have a
 * verdict, a profile and a time, and none of a decision's fields, so a filter on a capability,
 * syscall, process, command or executable leaves them out.
 */
export function compileAttachFilter(f: AuditFilter, now = Date.now()): (r: AttachRecord) => boolean {
  if (f.cap !== undefined || f.syscall !== undefined || f.tgid !== undefined || f.comm !== undefined)
    return () => false;
  if (f.exe !== undefined || (f.verdict !== undefined && f.verdict !== 'attached')) return () => false;
  const since = f.since !== undefined ? parseTime(f.since, now) : undefined;
  const until = f.until !== undefined ? parseTime(f.until, now) : undefined;
  const profile = f.profile;
  return (r) =>
    (profile === undefined || r.profile === profile) &&
    (since === undefined || Date.parse(r.time) >= since) &&
    (until === undefined || Date.parse(r.time) <= until);
}

export interface SummaryRow {
  /**
   * What was needed: a capability, a privilege, or (neither known) the syscall; for verdict
   * 'attached', `profile NAME`.
   */
  key: string;
  verdict: string;
  count: number;
  syscalls: string[];
  /** Distinct processes (tgid); for 'attached', distinct containers. */
  processes: number;
  first: string;
  last: string;
}

/**
 * A copy that does not keep the string it was sliced from alive: the reader slices values out
 * of 1 MiB chunks, and a group that kept one slice would pin its whole chunk.
 */
function flat(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

interface Group {
  key: string;
  verdict: string;
  count: number;
  /** syscall -> ops seen with it ('' = none) */
  calls: Map<string, Set<string>>;
  tgids: Set<number>;
  first: string;
  last: string;
}

/** Group records by (capability or privilege, verdict); most frequent first. */
export class Summary {
  /** key -> verdict -> group: two small maps instead of a concatenated key per record. */
  private readonly groups = new Map<string, Map<string, Group>>();
  /** cap -> priv -> "cap (priv)" */
  private readonly pairs = new Map<string, Map<string, string>>();
  /** Attach records by profile: how many, which containers, when. */
  private readonly attached = new Map<string, AttachedGroup>();
  total = 0;

  /** A container started under a profile: one row per profile, PROCS counting containers. */
  addAttached(r: AttachRecord): void {
    this.total++;
    let g = this.attached.get(r.profile);
    if (g === undefined) {
      g = { profile: r.profile, count: 0, containers: new Set(), first: r.time, last: r.time };
      this.attached.set(r.profile, g);
    }
    g.count++;
    g.containers.add(r.containerId);
    if (r.time < g.first) g.first = r.time;
    if (r.time > g.last) g.last = r.time;
  }

  /** ScannedRecord.needs() -> what it resolves to, and its group per verdict. */
  private needsCache = new Map<
    string,
    { key: string; syscall: string | undefined; op: string; groups: (Group | undefined)[] }
  >();

  add(r: RecordLike): void {
    if (r instanceof ScannedRecord) {
      const needs = r.needs();
      if (needs !== undefined) {
        this.addScanned(r, needs);
        return;
      }
    }
    this.addRecord(r);
  }

  /** The same as addRecord, with the key, call and group looked up once per distinct `needs`. */
  private addScanned(r: ScannedRecord, needs: string): void {
    this.total++;
    let info = this.needsCache.get(needs);
    if (info === undefined) {
      // Bounded: a log of ever-new operations must not grow the cache without end.
      if (this.needsCache.size >= 4096) this.needsCache.clear();
      const syscall = r.syscall;
      info = { key: this.keyOf(r), syscall: syscall && flat(syscall), op: flat(r.op || ''), groups: [] };
      this.needsCache.set(flat(needs), info);
    }
    const verdict = r.verdict;
    const vi = verdict === 'denied' ? 0 : verdict === 'complain' ? 1 : 2;
    let g = info.groups[vi];
    if (g === undefined) {
      g = this.group(info.key, verdict, r.time);
      info.groups[vi] = g;
      // A record without its syscall (audit follow) names no call.
      if (info.syscall !== undefined) {
        let ops = g.calls.get(info.syscall);
        if (ops === undefined) g.calls.set(info.syscall, (ops = new Set()));
        ops.add(info.op);
      }
    }
    g.count++;
    g.tgids.add(r.tgid);
    const time = r.time;
    if (time < g.first) g.first = flat(time);
    if (time > g.last) g.last = time; // pins at most the current chunk per group
  }

  private keyOf(r: RecordLike): string {
    const cap = r.cap;
    const priv = r.priv;
    if (cap && priv) {
      let m = this.pairs.get(cap);
      if (m === undefined) this.pairs.set(flat(cap), (m = new Map()));
      let k = m.get(priv);
      if (k === undefined) m.set(flat(priv), (k = `${cap} (${priv})`));
      return k;
    }
    return flat(cap ?? priv ?? `syscall ${r.syscall ?? '(unknown)'}`);
  }

  private group(key: string, verdict: string, time: string): Group {
    let byVerdict = this.groups.get(key);
    if (byVerdict === undefined) this.groups.set(key, (byVerdict = new Map()));
    let g = byVerdict.get(verdict);
    if (g === undefined) {
      const t = flat(time);
      g = { key, verdict, count: 0, calls: new Map(), tgids: new Set(), first: t, last: t };
      byVerdict.set(verdict, g);
    }
    return g;
  }

  private addRecord(r: RecordLike): void {
    this.total++;
    const time = r.time;
    const g = this.group(this.keyOf(r), r.verdict, time);
    g.count++;
    const syscall = r.syscall;
    if (syscall !== undefined) {
      let ops = g.calls.get(syscall);
      if (ops === undefined) g.calls.set(flat(syscall), (ops = new Set()));
      const op = r.op || '';
      if (!ops.has(op)) ops.add(flat(op));
    }
    g.tgids.add(r.tgid);
    if (time < g.first) g.first = flat(time);
    if (time > g.last) g.last = flat(time);
  }

  /** Fold another summary (a worker's share of the log) into this one. */
  merge(rows: SummaryState): void {
    this.total += rows.total;
    for (const a of rows.attached) {
      const g = this.attached.get(a.profile);
      if (g === undefined) {
        this.attached.set(a.profile, { ...a, containers: new Set(a.containers) });
        continue;
      }
      g.count += a.count;
      for (const c of a.containers) g.containers.add(c);
      if (a.first < g.first) g.first = a.first;
      if (a.last > g.last) g.last = a.last;
    }
    for (const s of rows.groups) {
      let byVerdict = this.groups.get(s.key);
      if (byVerdict === undefined) this.groups.set(s.key, (byVerdict = new Map()));
      const g = byVerdict.get(s.verdict);
      if (g === undefined) {
        byVerdict.set(s.verdict, {
          key: s.key,
          verdict: s.verdict,
          count: s.count,
          calls: new Map(s.calls.map(([c, ops]) => [c, new Set(ops)])),
          tgids: new Set(s.tgids),
          first: s.first,
          last: s.last,
        });
        continue;
      }
      g.count += s.count;
      for (const [c, ops] of s.calls) {
        let set = g.calls.get(c);
        if (set === undefined) g.calls.set(c, (set = new Set()));
        for (const o of ops) set.add(o);
      }
      for (const t of s.tgids) g.tgids.add(t);
      if (s.first < g.first) g.first = s.first;
      if (s.last > g.last) g.last = s.last;
    }
  }

  /** The state as plain data (to send from a worker thread). */
  state(): SummaryState {
    const groups: SummaryState['groups'] = [];
    for (const byVerdict of this.groups.values())
      for (const g of byVerdict.values())
        groups.push({
          key: g.key,
          verdict: g.verdict,
          count: g.count,
          calls: [...g.calls].map(([c, ops]) => [c, [...ops]]),
          tgids: [...g.tgids],
          first: g.first,
          last: g.last,
        });
    const attached = [...this.attached.values()].map((g) => ({ ...g, containers: [...g.containers] }));
    return { total: this.total, groups, attached };
  }

  rows(): SummaryRow[] {
    const out: SummaryRow[] = [];
    for (const byVerdict of this.groups.values())
      for (const g of byVerdict.values()) {
        const syscalls: string[] = [];
        for (const [c, ops] of g.calls) for (const o of ops) syscalls.push(o ? `${c}(${o})` : c);
        out.push({
          key: g.key,
          verdict: g.verdict,
          count: g.count,
          syscalls: [...new Set(syscalls)].sort(),
          processes: g.tgids.size,
          first: g.first,
          last: g.last,
        });
      }
    for (const g of this.attached.values())
      out.push({
        key: `profile ${g.profile}`,
        verdict: 'attached',
        count: g.count,
        syscalls: [],
        processes: g.containers.size,
        first: g.first,
        last: g.last,
      });
    return out.sort((a, b) => b.count - a.count || a.key.localeCompare(b.key));
  }
}

interface AttachedGroup {
  profile: string;
  count: number;
  containers: Set<string>;
  first: string;
  last: string;
}

export interface SummaryState {
  total: number;
  attached: { profile: string; count: number; containers: string[]; first: string; last: string }[];
  groups: {
    key: string;
    verdict: string;
    count: number;
    calls: [string, string[]][];
    tgids: number[];
    first: string;
    last: string;
  }[];
}
