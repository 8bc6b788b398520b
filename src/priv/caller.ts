/**
 * What the *callers* of priv_check do around it. priv_check_cred() knows nothing of securelevel,
 * of allow.mount.<fs>, of children.max or of the errno a syscall finally returns; the code that
 * calls it does. These rules are data too, so `capctl check` and the FreeBSD host can show the
 * whole path a request takes, with the stage named 'caller'.
 */
import {
  PRIV_IO,
  PRIV_JAIL_SET,
  PRIV_KLD_LOAD,
  PRIV_KLD_UNLOAD,
  PRIV_KMEM_WRITE,
  PRIV_NETINET_IPFW,
  PRIV_NETINET_PF,
  PRIV_NETINET_RESERVEDPORT,
  PRIV_SYSCTL_WRITEJAIL,
  PRIV_VFS_MOUNT,
  PRIV_VFS_STICKYFILE,
  PRIV_VFS_SYSFLAGS,
  privName,
} from './catalog.js';
import type { Prison } from './check.js';
import { jailParamDef } from './jail.js';

export const EACCES = 13;
/** FreeBSD's EFTYPE ("Inappropriate file type or format"); Linux has no such errno. */
export const FREEBSD_EFTYPE = 79;

/** securelevel_gt(cred, level) tests made by the caller after priv_check succeeds. */
export const SECURELEVEL_RULES: readonly { priv: number; above: number; caller: string }[] = [
  { priv: PRIV_KLD_LOAD, above: 0, caller: 'kern_kldload(): securelevel_gt(cred, 0)' },
  { priv: PRIV_KLD_UNLOAD, above: 0, caller: 'kern_kldunload(): securelevel_gt(cred, 0)' },
  { priv: PRIV_KMEM_WRITE, above: 0, caller: 'memopen() for writing: securelevel_gt(cred, 0)' },
  { priv: PRIV_IO, above: 0, caller: 'iopen(): securelevel_gt(cred, 0)' },
  {
    priv: PRIV_VFS_SYSFLAGS,
    above: 0,
    caller: 'ufs_setattr(): changing schg/sappnd/sunlnk needs securelevel_gt(cred, 0) to fail',
  },
  { priv: PRIV_NETINET_IPFW, above: 2, caller: 'ipfw_ctl3(): rule changes refused at securelevel 3' },
  { priv: PRIV_NETINET_PF, above: 2, caller: 'pfioctl(): write ioctls refused at securelevel 3' },
];

/** Errno remaps: the caller turns priv_check's EPERM into its own errno. */
export const ERRNO_REMAPS: readonly { priv: number; errno: number; errnoName: string; caller: string }[] = [
  {
    priv: PRIV_NETINET_RESERVEDPORT,
    errno: EACCES,
    errnoName: 'EACCES',
    caller: 'in_pcbbind_setup() returns EACCES for a reserved port, as Linux inet_bind() does',
  },
  {
    priv: PRIV_VFS_STICKYFILE,
    errno: FREEBSD_EFTYPE,
    errnoName: 'EFTYPE',
    caller: 'ufs_chmod() returns EFTYPE when a non-privileged user sets S_ISTXT on a non-directory',
  },
];

export interface CallerOutcome {
  /** 0 when the caller lets the allowed request through. */
  readonly errno: number;
  readonly reason: string;
}

const PASS: CallerOutcome = Object.freeze({ errno: 0, reason: '' });

/** What the caller knows about the request beyond the privilege. */
export interface CallerContext {
  /** Filesystem of a mount: vfs_domount() then wants allow.mount.<fstype> in a jail. */
  fstype?: string;
  /** The request sets the hostname/domainname (the sysctl handler tests allow.set_hostname). */
  hostname?: boolean;
}

/** The caller's checks after priv_check allowed `priv`. */
export function callerAfterAllow(pr: Prison, priv: number, what: CallerContext = {}): CallerOutcome {
  const fstype = what.fstype;
  const cfg = pr.jail;
  for (const r of SECURELEVEL_RULES) {
    if (r.priv === priv && cfg.securelevel > r.above) {
      return { errno: 1, reason: `caller: ${r.caller}; securelevel is ${cfg.securelevel}: EPERM` };
    }
  }
  if (!cfg.jailed) return PASS;
  if (priv === PRIV_VFS_MOUNT && fstype) {
    const param = `allow.mount.${fstype}`;
    if (jailParamDef(param) === undefined) {
      return {
        errno: 1,
        reason: `caller: vfs_domount(): ${fstype} is not a jail-mountable filesystem (no VFCF_JAIL): EPERM`,
      };
    }
    if (cfg.get(param) !== 1) return { errno: 1, reason: `caller: vfs_domount() wants ${param}=1 in a jail: EPERM` };
  }
  if (priv === PRIV_JAIL_SET && cfg.childrenMax <= 0) {
    return { errno: 1, reason: 'caller: kern_jail_set(): children.max=0, the jail may not create child jails: EPERM' };
  }
  if (priv === PRIV_SYSCTL_WRITEJAIL && what.hostname === true && cfg.get('allow.set_hostname') !== 1) {
    return { errno: 1, reason: 'caller: the hostname sysctl handler wants allow.set_hostname=1 in a jail: EPERM' };
  }
  return PASS;
}

/** The errno a caller returns for a denial of `priv` (EPERM unless it remaps). */
export function callerDeniedErrno(priv: number): { errno: number; note: string } {
  for (const r of ERRNO_REMAPS) if (r.priv === priv) return { errno: r.errno, note: `${r.caller} (${r.errnoName})` };
  return { errno: 1, note: `${privName(priv)} denial surfaces as EPERM` };
}
