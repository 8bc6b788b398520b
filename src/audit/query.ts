/**
 * Query and summarise audit records. Filters are plain predicates composed once, so a large
 * log is filtered in one pass without building intermediate arrays.
 */

import parseDuration from 'parse-duration';
import { parseCapName } from '../caps/capset.js';
import { inputError } from '../caps/errors.js';
import type { AttachRecord } from './attach-record.js';
import { IntSet } from './int-set.js';
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
  // The verdict first: a scanned line has it at hand, the others are looked up.
  if (f.verdict !== undefined) {
    const v = f.verdict;
    tests.push((r) => r.verdict === v);
  }
  if (f.cap !== undefined) {
    const n = parseCapName(f.cap);
    tests.push((r) => r.capNumber === n);
  }
  if (f.syscall !== undefined) {
    const s = f.syscall;
    tests.push((r) => r.syscall === s);
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
  tgids: IntSet;
  first: string;
  last: string;
  /**
   * A new first/last found in the chunk being read, as [start, end) of Summary.cur (-1: none):
   * made a string once, when the chunk is done (settle), not per record — a slice per record
   * would pin the chunk it came from, and copies cost an allocation each.
   */
  fs: number;
  fe: number;
  ls: number;
  le: number;
}

/** t[s,e) against u, as JavaScript's < compares strings (by UTF-16 unit). */
function cmpStr(t: string, s: number, e: number, u: string): number {
  const n = e - s;
  const m = u.length;
  const k = Math.min(n, m);
  for (let i = 0; i < k; i++) {
    const d = t.charCodeAt(s + i) - u.charCodeAt(i);
    if (d !== 0) return d;
  }
  return n - m;
}

/** t[s,e) against t[s2,e2). */
function cmpIn(t: string, s: number, e: number, s2: number, e2: number): number {
  const n = e - s;
  const m = e2 - s2;
  const k = Math.min(n, m);
  for (let i = 0; i < k; i++) {
    const d = t.charCodeAt(s + i) - t.charCodeAt(s2 + i);
    if (d !== 0) return d;
  }
  return n - m;
}

/** What one distinct needs() text of writer-shape lines resolves to, and its group per verdict. */
interface NeedsInfo {
  needs: string;
  key: string;
  /** Absent in records that name no syscall (audit follow's). */
  syscall: string | undefined;
  op: string;
  groups: (Group | undefined)[];
}

/** Buckets of Summary's needs() lookup (a power of two). */
const NEEDS_BUCKETS = 1024;

/** Group records by (capability or privilege, verdict); most frequent first. */
export class Summary {
  /** key -> verdict -> group: two small maps instead of a concatenated key per record. */
  private readonly groups = new Map<string, Map<string, Group>>();
  /** cap -> priv -> "cap (priv)" */
  private readonly pairs = new Map<string, Map<string, string>>();
  /** Attach records by profile: how many, which containers, when. */
  private readonly attached = new Map<string, AttachedGroup>();
  total = 0;

  /**
   * Writer-shape lines by needs() text, bucketed by its length and three of its characters
   * (cheaper than hashing the whole text, as a Map would), then compared. Bounded: a log of
   * ever-new operations must not grow it without end.
   */
  private byNeeds: (NeedsInfo[] | undefined)[] = new Array(NEEDS_BUCKETS);
  private needsCount = 0;
  /** The chunk text pending first/last positions point into, and the groups that have some. */
  private cur = '';
  private touched: Group[] = [];

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

  add(r: RecordLike): void {
    if (r instanceof ScannedRecord && r.canonical) this.addCanonical(r);
    else this.addRecord(r);
  }

  /** The same as addRecord, for a line in the writer's shape, reading it in place. */
  private addCanonical(r: ScannedRecord): void {
    this.total++;
    const t = r.text;
    if (t !== this.cur) this.settle(t);
    const s = r.needsStart;
    const e = r.needsEnd;
    const len = e - s;
    const h =
      (len * 31 + t.charCodeAt(s + 11) * 7 + t.charCodeAt(s + (len >> 1)) * 3 + t.charCodeAt(e - 3)) &
      (NEEDS_BUCKETS - 1);
    let bucket = this.byNeeds[h];
    let info: NeedsInfo | undefined;
    if (bucket !== undefined) {
      // A slice and === (a native compare) measured faster than startsWith or a char loop.
      const needs = t.slice(s, e);
      for (let i = 0; i < bucket.length; i++)
        if (bucket[i]!.needs === needs) {
          info = bucket[i];
          break;
        }
    }
    if (info === undefined) {
      if (this.needsCount >= 4096) {
        this.byNeeds = new Array(NEEDS_BUCKETS);
        this.needsCount = 0;
        bucket = undefined;
      }
      info = {
        needs: flat(t.slice(s, e)),
        key: this.keyOf(r),
        syscall: r.syscall === undefined ? undefined : flat(r.syscall),
        op: flat(r.op || ''),
        groups: [],
      };
      if (bucket === undefined) this.byNeeds[h] = bucket = [];
      bucket.push(info);
      this.needsCount++;
    }
    const verdict = r.verdict;
    const vi = verdict === 'denied' ? 0 : verdict === 'complain' ? 1 : 2;
    let g = info.groups[vi];
    const ts = r.timeStart();
    const te = r.end - 2;
    if (g === undefined) {
      g = this.group(info.key, verdict, flat(t.slice(ts, te)));
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
    if (g.ls >= 0 ? cmpIn(t, ts, te, g.ls, g.le) > 0 : cmpStr(t, ts, te, g.last) > 0) {
      if (g.ls < 0 && g.fs < 0) this.touched.push(g);
      g.ls = ts;
      g.le = te;
    } else if (g.fs >= 0 ? cmpIn(t, ts, te, g.fs, g.fe) < 0 : cmpStr(t, ts, te, g.first) < 0) {
      if (g.ls < 0 && g.fs < 0) this.touched.push(g);
      g.fs = ts;
      g.fe = te;
    }
  }

  /** Pending first/last positions become strings; `next` is the text read from now on. */
  private settle(next: string): void {
    const t = this.cur;
    for (const g of this.touched) {
      if (g.ls >= 0) g.last = flat(t.slice(g.ls, g.le));
      if (g.fs >= 0) g.first = flat(t.slice(g.fs, g.fe));
      g.ls = g.le = g.fs = g.fe = -1;
    }
    this.touched.length = 0;
    this.cur = next;
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
      g = {
        key,
        verdict,
        count: 0,
        calls: new Map(),
        tgids: new IntSet(),
        first: time,
        last: time,
        fs: -1,
        fe: -1,
        ls: -1,
        le: -1,
      };
      byVerdict.set(verdict, g);
    }
    return g;
  }

  private addRecord(r: RecordLike): void {
    if (this.touched.length) this.settle(this.cur);
    this.total++;
    const time = r.time;
    const g = this.group(this.keyOf(r), r.verdict, flat(time));
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
    this.settle(this.cur);
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
          tgids: IntSet.of(s.tgids),
          first: s.first,
          last: s.last,
          fs: -1,
          fe: -1,
          ls: -1,
          le: -1,
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
    this.settle('');
    const groups: SummaryState['groups'] = [];
    for (const byVerdict of this.groups.values())
      for (const g of byVerdict.values())
        groups.push({
          key: g.key,
          verdict: g.verdict,
          count: g.count,
          calls: [...g.calls].map(([c, ops]) => [c, [...ops]]),
          tgids: g.tgids.values(),
          first: g.first,
          last: g.last,
        });
    const attached = [...this.attached.values()].map((g) => ({ ...g, containers: [...g.containers] }));
    return { total: this.total, groups, attached };
  }

  rows(): SummaryRow[] {
    this.settle('');
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
