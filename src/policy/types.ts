/** The shapes of a profile: as written (ProfileDoc), and resolved after extends (Profile). */
import type { CapSet } from '../caps/capset.js';
import type { ProfileIssue } from './source.js';

export type CapSetName = 'bounding' | 'permitted' | 'effective' | 'inheritable' | 'ambient';
export const SET_NAMES: readonly CapSetName[] = ['bounding', 'permitted', 'effective', 'inheritable', 'ambient'];

export type TargetKind = 'jail' | 'chroot' | 'container';
export type Mode = 'enforce' | 'complain';
export type AuditLog = 'denied' | 'all' | 'none';

export interface CapabilitiesDoc {
  text?: string;
  bounding?: string[] | string;
  permitted?: string[] | string;
  effective?: string[] | string;
  inheritable?: string[] | string;
  ambient?: string[] | string;
  add?: string[];
  drop?: string[];
}

export interface RuleDoc {
  effect: 'allow' | 'deny';
  caps?: string[];
  privs?: string[];
  when?: { uid?: number | string; syscall?: string[] };
  priority?: number;
  comment?: string;
}

export interface ProfileDoc {
  name: string;
  description?: string;
  extends?: string[] | string;
  target?: TargetKind;
  mode?: Mode;
  capabilities?: CapabilitiesDoc;
  noNewPrivs?: boolean;
  rules?: RuleDoc[];
  jail?: Record<string, string | number | boolean>;
  audit?: { log?: AuditLog; rateLimit?: { perSecond?: number; burst?: number } };
}

/** Highest uid a condition can name (uid_t is 32 bits and (uid_t)-1 means "no change"). */
export const UID_MAX = 4294967294;
/** The uid range of a rule with no uid condition. */
export const UID_ANY_MAX = 4294967295;

export const PRIORITY_MIN = 0;
export const PRIORITY_MAX = 1000;
/** The implicit allow that the bounding set contributes sits below every written rule. */
export const PRIORITY_IMPLICIT = -1;

/**
 * One rule after loading: objects are casbin object strings, canonical upper-case names
 * (CAP_NET_RAW, PRIV_NETINET_RAW) or prefix patterns (CAP_*, PRIV_NET_*).
 */
export interface Rule {
  effect: 'allow' | 'deny';
  objects: readonly string[];
  uidMin: number;
  uidMax: number;
  /** null: any system call (and checks made outside one). */
  syscalls: readonly string[] | null;
  priority: number;
  /** `file:line:col` of the rule, or a description for implicit rules. */
  source: string;
  implicit: boolean;
  comment?: string;
}

export interface AuditSettings {
  log: AuditLog;
  rateLimit: { perSecond: number; burst: number };
}

export interface Profile {
  name: string;
  description: string;
  /** Absolute path of the profile file. */
  file: string;
  /** Every file that went into it, parents first (the profile's own file last). */
  files: readonly string[];
  /**
   * sha256 over `path \0 bytes \0` for each file in `files`, of exactly the bytes that were
   * parsed (a binding records it at attach and compares it at use). '' when built in memory.
   */
  sha256: string;
  target: TargetKind | undefined;
  mode: Mode;
  sets: Readonly<Record<CapSetName, CapSet>>;
  /** Which sets some file in the chain set explicitly (the others have their defaults). */
  setsGiven: Readonly<Record<CapSetName, boolean>>;
  /** no_new_privs for the confined program (the last file in the chain that states it decides). */
  noNewPrivs: boolean;
  /** Written rules in declaration order, parents' first. */
  rules: readonly Rule[];
  jail: Readonly<Record<string, string>>;
  audit: AuditSettings;
  warnings: readonly ProfileIssue[];
}
