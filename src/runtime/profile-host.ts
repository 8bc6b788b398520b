/**
 * The host a profile applies through — one place for every command that decides (replay,
 * check, and exec/run/oci from other modules): `hostFor({ kind, policy, jailParams })`.
 *
 *   - linux, no profile: linuxHost (capable() = the effective set).
 *   - linux with a profile: the profile decides each use for the caller's euid and system call
 *     (conditions included) before Linux's own effective-set test.
 *   - freebsd: priv_check in a jail built from the profile's jail section and `jailParams`, the
 *     profile as its policy stages.
 *   - complain mode (either host): an allowed decision the profile would have refused is marked
 *     PROFILE_COMPLAIN_STAGE, so the audit log records it.
 *
 * Every capability use in the runtime (privileged operations, and the capability tests inside
 * capset/prctl/set*id/exec) asks this host, so check and replay cannot answer differently.
 */
import { CAPABILITIES } from '../caps/catalog.js';
import { privName } from '../priv/catalog.js';
import { CAP_COMPLAIN, CAP_DENY, PRIV_COMPLAIN, type ProfilePolicy } from '../priv/policy-hook.js';
import type { Credential } from './credential.js';
import { createFreeBSDHost, type FreeBSDHost, restrictToHost } from './freebsd-host.js';
import { linuxHost, PROFILE_COMPLAIN_STAGE, type PrivilegeHost } from './host.js';

/**
 * A Linux host restricted by a profile. In complain mode the profile denies nothing (decideCap
 * answers CAP_COMPLAIN, not CAP_DENY); complainAware marks what it would have denied.
 */
export function profiledLinuxHost(policy: ProfilePolicy): PrivilegeHost {
  return {
    kind: 'linux',
    capable(cred: Credential, cap: number, op) {
      if (policy.decideCap(cap, cred.euid, op.syscall) !== CAP_DENY) return linuxHost.capable(cred, cap, op);
      return { errno: 1, stage: 'profile', reason: policy.capDenialReason(cap, cred.euid, op.syscall) };
    },
  };
}

/**
 * Any host under a complain-mode profile: an allowed decision is re-asked in the profile's own
 * terms — would enforce mode have refused this privilege (FreeBSD host), or this capability,
 * for this uid and call? — and marked PROFILE_COMPLAIN_STAGE when it would have.
 */
export function complainAware(host: PrivilegeHost, policy: ProfilePolicy): PrivilegeHost {
  return {
    kind: host.kind,
    capable(cred: Credential, cap: number, op) {
      const d = host.capable(cred, cap, op);
      if (d.errno !== 0) return d;
      const privWouldDeny = d.priv !== undefined && policy.decidePriv(d.priv, cred.euid, op.syscall) === PRIV_COMPLAIN;
      const capWouldDeny = policy.decideCap(cap, cred.euid, op.syscall) === CAP_COMPLAIN;
      if (!privWouldDeny && !capWouldDeny) return d;
      const what = privWouldDeny ? privName(d.priv!) : (CAPABILITIES[cap]?.name ?? `cap ${cap}`);
      return {
        ...d,
        stage: PROFILE_COMPLAIN_STAGE,
        reason: `complain mode: profile ${policy.name} would deny ${what}; ${d.reason}`,
      };
    },
  };
}

export interface HostSpec {
  kind: 'linux' | 'freebsd';
  policy?: ProfilePolicy;
  /** FreeBSD: jail(8) parameters (over the profile's own jail section when `profileJail`). */
  jailParams?: Record<string, string>;
}

export interface BuiltHost {
  host: PrivilegeHost;
  /** FreeBSD: the jail host itself (privCheck, prison), for privilege requests. */
  freebsd?: FreeBSDHost;
  /** Moves a credential taken from elsewhere into the host (FreeBSD: limit to what the jail reports). */
  adjust?: (c: Credential) => void;
}

/** The host every decision under `spec` goes through. */
export function hostFor(spec: HostSpec): BuiltHost {
  const { kind, policy } = spec;
  let out: BuiltHost;
  if (kind === 'freebsd') {
    const fb = createFreeBSDHost({ jailParams: spec.jailParams ?? {}, policy });
    out = { host: fb, freebsd: fb, adjust: (c) => restrictToHost(fb, c) };
  } else out = { host: policy ? profiledLinuxHost(policy) : linuxHost };
  if (policy?.mode === 'complain') out.host = complainAware(out.host, policy);
  return out;
}
