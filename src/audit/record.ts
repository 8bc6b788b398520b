/**
 * The audit record: one JSON object per line (NDJSON), written by pino. Every denied operation
 * becomes one record; in complain mode the operation is allowed but recorded with
 * verdict 'complain', as AppArmor's complain mode logs ALLOWED.
 *
 * Field names follow the kernel's terms and stay flat so that `jq`, Falco-style rules and
 * `capctl audit` can filter on them directly. schema/audit-record.schema.json is the contract.
 */
export type Verdict = 'denied' | 'complain' | 'allowed';

export interface AuditRecord {
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
  /** Profile and what it is attached to, when a profile decided. */
  profile?: string;
  subject?: string;
  /** Where the call came from when replaying a trace. */
  source?: { file: string; line: number };
}

/** Records suppressed by rate limiting are summarised in one record of this shape. */
export interface SuppressedRecord {
  time: string;
  verdict: 'suppressed';
  suppressed: number;
  keys: Record<string, number>;
}

/** capctl-oci-runtime applied a profile to a container's bundle (one record per create). */
export interface AttachRecord {
  time: string;
  verdict: 'attached';
  profile: string;
  profileFile?: string;
  sha256?: string;
  containerId: string;
  containerName?: string;
  via: 'annotation' | 'binding';
  bundle?: string;
}

export function isAuditRecord(v: unknown): v is AuditRecord {
  if (typeof v !== 'object' || v === null) return false;
  const r = v as Record<string, unknown>;
  return (
    typeof r.time === 'string' &&
    (r.verdict === 'denied' || r.verdict === 'complain' || r.verdict === 'allowed') &&
    typeof r.syscall === 'string' &&
    typeof r.stage === 'string'
  );
}
