/**
 * The audit record: one JSON object per line (NDJSON), written by pino. Every denied operation
 * becomes one record; in complain mode the operation is allowed but recorded with
 * verdict 'complain', as AppArmor's complain mode logs ALLOWED.
 *
 * Field names follow the kernel's terms and stay flat so that `jq`, Falco-style rules and
 * `capctl audit` can filter on them directly. schema/audit-record.schema.json is the contract.
 */
import { ATTACH_KEY_ORDER } from './attach-record.js';

export type Verdict = 'denied' | 'complain' | 'allowed';

export interface AuditRecord {
  /** The writer's record number (1, 2, 3 ... gap-free per writer), so a reader can tell a lost record from a quiet period. */
  seq?: number;
  /** ISO-8601 time the decision was made (replay: when it was replayed). */
  time: string;
  verdict: Verdict;
  /** 'linux' = Linux's own checks; 'freebsd' = priv_check through the bridge. */
  host: 'linux' | 'freebsd';
  syscall: string;
  /** Operation detail, e.g. "AF_INET SOCK_RAW" or "bind port 80". */
  op?: string;
  /** Capability the check needed, kernel spelling (CAP_NET_RAW), and its number. */
  cap?: string;
  capNumber?: number;
  /** FreeBSD privilege consulted (bridge mode). */
  priv?: string;
  privNumber?: number;
  /** Errno the caller saw ('' when allowed). */
  errno: string;
  /** Which stage decided (capability, jail, policy, suser, ...) and why. */
  stage: string;
  reason: string;
  tid: number;
  tgid: number;
  euid?: number;
  comm?: string;
  /** Executable, from the kernel's SYSCALL record. */
  exe?: string;
  /** Capability sets (hex masks) from the kernel's CAPSET/BPRM_FCAPS records: pi pp pe pa, fp fi fe, old_p*. */
  sets?: Record<string, string>;
  /** Profile and what it is attached to, when a profile decided. */
  profile?: string;
  subject?: string;
  /** Where the call came from when replaying a trace. */
  source?: { file: string; line: number };
}

/**
 * Events a live source lost before they became records (audit follow: the per-CPU trace
 * buffers' overrun and dropped counters), written as one `"verdict":"lost"` line each time the
 * count grows. Bookkeeping, like the rate limit's summary: never a decision.
 */
export interface LostRecordFields {
  host: 'linux';
  /** What lost them, e.g. "tracefs capctl-follow-123-abc". */
  tracer: string;
  /** Lost since the previous loss line, and in total. */
  lost: number;
  lostTotal: number;
  overrun: number;
  dropped: number;
  perCpu: { cpu: number; overrun: number; dropped: number }[];
  reason: string;
}

const LOST_KEYS = new Set([
  'level',
  'seq',
  'time',
  'verdict',
  'host',
  'tracer',
  'lost',
  'lostTotal',
  'overrun',
  'dropped',
  'perCpu',
  'reason',
]);

/** Records suppressed by rate limiting are summarised in one record of this shape. */
export interface SuppressedRecord {
  seq?: number;
  time: string;
  verdict: 'suppressed';
  suppressed: number;
  keys: Record<string, number>;
}

/**
 * RFC 3339 date-time, strictly: a full date, 'T' (or 't'/' ' is refused: a space is how local
 * times sneak in), a time, and a zone (Z or ±hh:mm). The range checks are the grammar's.
 */
export const RFC3339 =
  /^(\d{4})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])T([01]\d|2[0-3]):([0-5]\d):([0-5]\d|60)(\.\d+)?(Z|[+-]([01]\d|2[0-3]):[0-5]\d)$/;

/**
 * The order the writer puts keys in (level and seq first, time last, as pino did). The reader's
 * fast path recognises exactly this shape; any other order is read correctly, only slower.
 */
export const KEY_ORDER = [
  'level',
  'seq',
  'verdict',
  'host',
  'syscall',
  'op',
  'cap',
  'capNumber',
  'priv',
  'privNumber',
  'errno',
  'stage',
  'reason',
  'tid',
  'tgid',
  'euid',
  'comm',
  'exe',
  'profile',
  'subject',
  'source',
  'sets',
  'time',
] as const;

const LEVELS = new Set(['info', 'warn']);
const VERDICTS = new Set(['denied', 'complain', 'allowed']);
const HOSTS = new Set(['linux', 'freebsd']);
const CAP_NAME = /^CAP_[A-Z_0-9]+$/;
const PRIV_NAME = /^PRIV_[A-Z_0-9]+$/;
const ERRNO_NAME = /^(E[A-Z0-9]+)?$/;
const STRING_FIELDS = ['op', 'stage', 'reason', 'comm', 'exe', 'profile', 'subject'] as const;
const INT_FIELDS = ['tid', 'tgid', 'euid'] as const;
const KNOWN: ReadonlySet<string> = new Set(KEY_ORDER);
const SETS = new Set(['pi', 'pp', 'pe', 'pa', 'fp', 'fi', 'fe', 'old_pp', 'old_pi', 'old_pe', 'old_pa']);

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/**
 * Type-checks one parsed line against schema/audit-record.schema.json: the record, a
 * 'suppressed' summary or a 'lost' count (returned as those strings: bookkeeping, not records),
 * or why it is neither. Written out by hand rather than through ajv because it runs once per
 * line of logs with millions of lines; test/audit/reader-fast.test.ts checks it against ajv.
 */
export function checkRecord(v: unknown): AuditRecord | 'suppressed' | 'lost' | 'attached' | { invalid: string } {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { invalid: 'not a JSON object' };
  const r = v as Record<string, unknown>;
  if (r.level !== undefined && !LEVELS.has(r.level as string)) return { invalid: 'level' };
  if (r.seq !== undefined && !(isInt(r.seq) && r.seq >= 1)) return { invalid: 'seq' };
  if (r.verdict === 'attached') return checkAttached(r);
  if (r.verdict === 'suppressed') {
    if (typeof r.time !== 'string') return { invalid: 'time' };
    if (!(isInt(r.suppressed) && r.suppressed >= 1)) return { invalid: 'suppressed' };
    const k = r.keys;
    if (typeof k !== 'object' || k === null || Array.isArray(k)) return { invalid: 'keys' };
    for (const n of Object.values(k)) if (!isInt(n)) return { invalid: 'keys' };
    for (const key of Object.keys(r))
      if (!['level', 'seq', 'time', 'verdict', 'suppressed', 'keys'].includes(key)) return { invalid: key };
    return 'suppressed';
  }
  if (r.verdict === 'lost') {
    if (typeof r.time !== 'string') return { invalid: 'time' };
    for (const f of ['lost', 'lostTotal', 'overrun', 'dropped'])
      if (!(isInt(r[f]) && (r[f] as number) >= 0)) return { invalid: f };
    if (!((r.lost as number) >= 1)) return { invalid: 'lost' };
    if (!Array.isArray(r.perCpu)) return { invalid: 'perCpu' };
    for (const key of Object.keys(r)) if (!LOST_KEYS.has(key)) return { invalid: key };
    return 'lost';
  }
  if (typeof r.time !== 'string' || !RFC3339.test(r.time)) return { invalid: 'time' };
  if (!VERDICTS.has(r.verdict as string)) return { invalid: 'verdict' };
  if (!HOSTS.has(r.host as string)) return { invalid: 'host' };
  if (typeof r.syscall !== 'string' || r.syscall === '') return { invalid: 'syscall' };
  if (typeof r.errno !== 'string' || !ERRNO_NAME.test(r.errno)) return { invalid: 'errno' };
  if (typeof r.stage !== 'string') return { invalid: 'stage' };
  if (typeof r.reason !== 'string') return { invalid: 'reason' };
  if (!isInt(r.tid)) return { invalid: 'tid' };
  if (!isInt(r.tgid)) return { invalid: 'tgid' };
  for (const f of STRING_FIELDS) if (r[f] !== undefined && typeof r[f] !== 'string') return { invalid: f };
  for (const f of INT_FIELDS) if (r[f] !== undefined && !isInt(r[f])) return { invalid: f };
  if (r.cap !== undefined && !(typeof r.cap === 'string' && CAP_NAME.test(r.cap))) return { invalid: 'cap' };
  if (r.capNumber !== undefined && !(isInt(r.capNumber) && r.capNumber >= 0 && r.capNumber <= 63))
    return { invalid: 'capNumber' };
  if (r.priv !== undefined && !(typeof r.priv === 'string' && PRIV_NAME.test(r.priv))) return { invalid: 'priv' };
  if (r.privNumber !== undefined && !(isInt(r.privNumber) && r.privNumber >= 1)) return { invalid: 'privNumber' };
  if (r.source !== undefined) {
    const s = r.source as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return { invalid: 'source' };
    if (typeof s.file !== 'string' || !(isInt(s.line) && s.line >= 1)) return { invalid: 'source' };
    for (const key of Object.keys(s)) if (key !== 'file' && key !== 'line') return { invalid: 'source' };
  }
  if (r.sets !== undefined) {
    const s = r.sets as Record<string, unknown>;
    if (typeof s !== 'object' || s === null || Array.isArray(s)) return { invalid: 'sets' };
    for (const [key, val] of Object.entries(s))
      if (!SETS.has(key) || typeof val !== 'string' || !/^[0-9a-f]{1,16}$/.test(val)) return { invalid: 'sets' };
  }
  for (const key of Object.keys(r)) if (!KNOWN.has(key)) return { invalid: `unknown field ${key}` };
  return r as unknown as AuditRecord;
}

const ATTACH_KEYS: ReadonlySet<string> = new Set([...ATTACH_KEY_ORDER, 'seq']);
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A container started under a profile (capctl-oci-runtime; audit/attach-record.ts). */
function checkAttached(r: Record<string, unknown>): 'attached' | { invalid: string } {
  if (typeof r.time !== 'string' || !RFC3339.test(r.time)) return { invalid: 'time' };
  if (typeof r.profile !== 'string') return { invalid: 'profile' };
  if (typeof r.containerId !== 'string' || r.containerId === '') return { invalid: 'containerId' };
  if (r.via !== 'annotation' && r.via !== 'binding') return { invalid: 'via' };
  for (const f of ['profileFile', 'containerName', 'bundle'])
    if (r[f] !== undefined && typeof r[f] !== 'string') return { invalid: f };
  if (r.sha256 !== undefined && !(typeof r.sha256 === 'string' && SHA256_HEX.test(r.sha256)))
    return { invalid: 'sha256' };
  for (const key of Object.keys(r)) if (!ATTACH_KEYS.has(key)) return { invalid: `unknown field ${key}` };
  return 'attached';
}

export function isAuditRecord(v: unknown): v is AuditRecord {
  const c = checkRecord(v);
  return typeof c === 'object' && !('invalid' in c);
}
