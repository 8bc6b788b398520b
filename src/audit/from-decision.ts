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
  // A leader's tgid is its tid; keep them equal when the trace's numbering replaced the tid.
  if (ev.tgid === ev.tid) rec.tgid = rec.tid;
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
