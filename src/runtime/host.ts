/**
 * Contract 1: every privileged decision in the runtime goes through one `PrivilegeHost`, so the
 * same syscall code runs with Linux's own checks (`linuxHost`), a profile's (profile-host.ts) or
 * FreeBSD's priv_check (src/runtime/freebsd-host.ts). Privileged operations (socket, mknod,
 * chroot, kill, bind, ...) and the capability tests inside capset/prctl/set*id/execve all ask
 * the host (Runtime.privileged, Runtime.capableFor); the rest of those calls is Linux's.
 *
 * Contract 2: each decision, allowed or denied, is reported to an optional `onDecision`
 * listener as a `DecisionEvent`.
 */
import type { Credential } from './credential.js';
import { EPERM } from './errno.js';

/** The operation a capability is wanted for, e.g. `{ syscall: 'socket', detail: 'AF_INET SOCK_RAW' }`. */
export interface PrivilegedOp {
  syscall: string;
  detail?: string;
}

export interface HostDecision {
  /** 0 = allowed; otherwise an errno (the syscall then fails with its own Linux errno). */
  errno: number;
  /** Which stage decided, e.g. 'capability'. */
  stage: string;
  reason: string;
  /** The FreeBSD privilege priv_check was asked about (FreeBSD host only), for audit records. */
  priv?: number;
}

export interface PrivilegeHost {
  readonly kind: 'linux' | 'freebsd';
  /** Linux capable(): 0 if the thread may use `cap` for `op`, else the errno (usually EPERM). */
  capable(cred: Credential, cap: number, op: PrivilegedOp): HostDecision;
}

export interface DecisionEvent {
  tid: number;
  tgid: number;
  syscall: string;
  /** Capability number checked; -1 for a rule that is not a single capability test (e.g. capset's P' ⊆ P). */
  cap: number;
  op: PrivilegedOp;
  /** What the syscall returns for this decision: 0 allowed, else its errno. */
  errno: number;
  stage: string;
  reason: string;
  host: 'linux' | 'freebsd';
  /** The FreeBSD privilege behind the decision, when a FreeBSD host made it. */
  priv?: number;
}

export type DecisionListener = (ev: DecisionEvent) => void;

/** The stage of an allowed decision that a complain-mode profile would have refused (audited). */
export const PROFILE_COMPLAIN_STAGE = 'profile-complain';

const ALLOW: HostDecision = Object.freeze({ errno: 0, stage: 'capability', reason: 'capability in effective set' });
const DENY: HostDecision = Object.freeze({
  errno: EPERM,
  stage: 'capability',
  reason: 'capability not in effective set',
});

/**
 * Linux's cap_capable() for a credential whose user namespace owns the resource: the
 * capability must be in the effective set. (User-namespace ancestry is checked by the runtime
 * before it asks the host; see Runtime.nsCapable.)
 */
export const linuxHost: PrivilegeHost = Object.freeze({
  kind: 'linux' as const,
  capable(cred: Credential, cap: number, _op: PrivilegedOp): HostDecision {
    return cred.hasEffective(cap) ? ALLOW : DENY;
  },
});
