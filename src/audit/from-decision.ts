/**
 * Runtime decision events -> audit records. The runtime reports every decision (contract 2);
 * this keeps the ones the profile's audit settings ask for: denials (always, unless `log: none`),
 * complain-mode passes (stage PROFILE_COMPLAIN_STAGE), and with `log: all` the allowed ones.
 */
import { capInfo } from '../caps/catalog.js';
import { privName } from '../priv/catalog.js';
import { errnoName } from '../runtime/errno.js';
import type { DecisionEvent } from '../runtime/host.js';
/** The stage a host reports when a complain-mode profile would have denied but allowed. */
import { PROFILE_COMPLAIN_STAGE } from '../runtime/host.js';
import type { TraceLocation } from '../runtime/replay.js';
import type { AuditRecord, Verdict } from './record.js';

export { PROFILE_COMPLAIN_STAGE };

export type AuditLevel = 'denied' | 'all' | 'none';

export interface DecisionContext {
  profile?: string;
  subject?: string;
  /** Where the call is in a trace; `pid` replaces the runtime's tid (the trace's own numbering). */
  where?: TraceLocation;
}

export function verdictOf(ev: DecisionEvent): Verdict {
  if (ev.errno !== 0) return 'denied';
  return ev.stage === PROFILE_COMPLAIN_STAGE ? 'complain' : 'allowed';
}

/** Whether `ev` belongs in a log kept at `level`. */
export function wanted(ev: DecisionEvent, level: AuditLevel): boolean {
  if (level === 'none') return false;
  return level === 'all' || ev.errno !== 0 || ev.stage === PROFILE_COMPLAIN_STAGE;
}

export function recordFromDecision(ev: DecisionEvent, ctx: DecisionContext = {}): Omit<AuditRecord, 'time'> {
  const rec: Omit<AuditRecord, 'time'> = {
    verdict: verdictOf(ev),
    host: ev.host,
    syscall: ev.syscall,
    errno: ev.errno === 0 ? '' : errnoName(ev.errno),
    stage: ev.stage,
    reason: ev.reason,
    tid: ctx.where && ctx.where.pid > 0 ? ctx.where.pid : ev.tid,
    tgid: ev.tgid,
  };
  // In a replay the trace's numbering replaces the runtime's (whose first process and its
  // threads carry placeholder ids until the trace names them).
  if (ctx.where && ctx.where.pid > 0) rec.tgid = ctx.where.tgid > 0 ? ctx.where.tgid : rec.tid;
  else if (ev.tgid === ev.tid) rec.tgid = rec.tid;
  if (ev.op.detail) rec.op = ev.op.detail;
  const info = ev.cap >= 0 ? capInfo(ev.cap) : undefined;
  if (info) {
    rec.cap = info.name;
    rec.capNumber = info.number;
  }
  if (ev.priv !== undefined) {
    rec.priv = privName(ev.priv);
    rec.privNumber = ev.priv;
  }
  if (ctx.profile) rec.profile = ctx.profile;
  if (ctx.subject) rec.subject = ctx.subject;
  if (ctx.where) rec.source = { file: ctx.where.file, line: ctx.where.line };
  return rec;
}

/**
 * Replay decisions -> records, with the trace's thread and process ids. strace's stderr style
 * prints the first process's lines without a pid until a second process appears, so records of
 * that process (and of its threads' tgid) are held back until the replayer learns the pid, then
 * written in trace order with it; records after a held one wait behind it, so the log keeps the
 * trace's order. If the pid is never learned (a lone process), they are written at end() with
 * pid 0, which says "not shown in the trace", rather than the runtime's placeholder ids.
 */
export class ReplayAuditSink {
  private pending: Omit<AuditRecord, 'time'>[] = [];
  private first = 0;
  private readonly write: (rec: Omit<AuditRecord, 'time'>) => void;
  private readonly ctx: Omit<DecisionContext, 'where'>;
  private readonly level: AuditLevel;

  constructor(level: AuditLevel, ctx: Omit<DecisionContext, 'where'>, write: (rec: Omit<AuditRecord, 'time'>) => void) {
    this.level = level;
    this.ctx = ctx;
    this.write = write;
  }

  decision(ev: DecisionEvent, where: TraceLocation): void {
    if (!wanted(ev, this.level)) return;
    const rec = recordFromDecision(ev, { ...this.ctx, where });
    const unknown = where.pid === 0 || where.tgid === 0;
    if (unknown && this.first === 0) {
      rec.tid = where.pid;
      rec.tgid = 0;
      this.pending.push(rec);
      if (this.pending.length >= MAX_PENDING) this.end();
      return;
    }
    if (unknown) this.name(rec, this.first);
    if (this.pending.length > 0) this.pending.push(rec);
    else this.write(rec);
  }

  firstPid(pid: number): void {
    if (this.first !== 0) return;
    this.first = pid;
    this.flush(pid);
  }

  end(): void {
    this.flush(0);
  }

  private name(rec: Omit<AuditRecord, 'time'>, pid: number): void {
    if (rec.tid === 0) rec.tid = pid;
    rec.tgid = pid;
  }

  private flush(pid: number): void {
    const held = this.pending;
    this.pending = [];
    for (const r of held) {
      if (r.tgid === 0) this.name(r, pid);
      this.write(r);
    }
  }
}

/** Records held for an unnamed first process before they are written anyway. */
const MAX_PENDING = 100_000;
