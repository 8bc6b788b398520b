/**
 * The privilege host a profile and a host kind make, shared by `capctl replay` (recorded calls)
 * and `capctl run` (live calls): Linux's capable(), optionally restricted by a profile, or
 * FreeBSD's priv_check in a jail; and in complain mode, what enforce mode would have refused.
 */

import { PROFILE_COMPLAIN_STAGE } from '../audit/from-decision.js';
import { CAPABILITIES } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { CAP_COMPLAIN, CAP_DENY, type CompiledProfile, describeRule, PRIV_COMPLAIN } from '../policy/compile.js';
import { privName } from '../priv/catalog.js';
import type { Credential } from '../runtime/credential.js';
import { createFreeBSDHost, type FreeBSDHost } from '../runtime/freebsd-host.js';
import { linuxHost, type PrivilegeHost } from '../runtime/host.js';

/** `K=V` jail parameters (repeatable flag values) as a record. */
export function parseJailParams(list: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list) {
    const k = p.indexOf('=');
    if (k <= 0) throw inputError('usage', `--jail-param wants K=V (e.g. allow.raw_sockets=1), got "${p}"`);
    out[p.slice(0, k)] = p.slice(k + 1);
  }
  return out;
}

/**
 * A Linux host restricted by a profile: the profile decides each use of a capability for the
 * caller's euid and system call (conditions included) before Linux's own effective-set test.
 * In complain mode the profile denies nothing (decideCap answers CAP_COMPLAIN, not CAP_DENY);
 * complainAware marks what it would have denied.
 */
export function profiledLinuxHost(policy: CompiledProfile): PrivilegeHost {
  return {
    kind: 'linux',
    capable(cred: Credential, cap: number, op) {
      if (policy.decideCap(cap, cred.euid, op.syscall) !== CAP_DENY) return linuxHost.capable(cred, cap, op);
      const r = policy.capRuleFor(cap, cred.euid, op.syscall);
      const rule = r >= 0 ? policy.rules[r] : undefined;
      const name = CAPABILITIES[cap]?.name ?? `cap ${cap}`;
      const reason = `profile ${policy.name} ${rule ? `denies ${name}: ${describeRule(rule)}` : `does not allow ${name}`}`;
      return { errno: 1, stage: 'profile', reason };
    },
  };
}

/**
 * Any host under a complain-mode profile: an allowed decision is re-asked in the profile's
 * own terms — would enforce mode have refused this privilege (FreeBSD host), or this
 * capability, for this uid and call? — and marked PROFILE_COMPLAIN_STAGE for the audit log
 * when it would have.
 */
export function complainAware(host: PrivilegeHost, policy: CompiledProfile): PrivilegeHost {
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

export interface HostChoice {
  host: PrivilegeHost;
  /** Set for --host freebsd: the jail (initial credential, reportable sets). */
  freebsd?: FreeBSDHost;
}

/** The host for `--host KIND [--jail-param K=V ...] [--profile P]`. */
export function hostFor(kind: string, jailParams: readonly string[], policy?: CompiledProfile): HostChoice {
  if (kind !== 'linux' && kind !== 'freebsd')
    throw inputError('usage', `--host must be linux or freebsd, got "${kind}"`);
  if (jailParams.length > 0 && kind !== 'freebsd') throw inputError('usage', '--jail-param needs --host freebsd');
  let host: PrivilegeHost = linuxHost;
  let freebsd: FreeBSDHost | undefined;
  if (kind === 'freebsd') {
    freebsd = createFreeBSDHost({ jailParams: parseJailParams(jailParams), policy });
    host = freebsd;
  } else if (policy) host = profiledLinuxHost(policy);
  if (policy?.mode === 'complain') host = complainAware(host, policy);
  return freebsd ? { host, freebsd } : { host };
}
