/**
 * `capctl check` as a library: would this thread get these privileges or capabilities? Every
 * answer comes from the same host the runtime asks during replay (profile-host.ts hostFor):
 * a capability request is `host.capable(cred, cap, {syscall})` exactly as Runtime.privileged and
 * Runtime.capableFor ask it, so check and replay (and exec/run, which use the same hosts) cannot
 * disagree. Privilege requests: on FreeBSD priv_check in the host's own prison (with the caller's
 * errno remapping); on Linux the capabilities the privilege maps to, each asked of the host.
 */
import { CapSet } from '../caps/capset.js';
import { CAPABILITIES, capByName, closestName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { callerDeniedErrno } from '../priv/caller.js';
import { PRIVS, privByName, privName } from '../priv/catalog.js';
import { bridgeCred, explainPrivCheck, nativeCred, type PrivCred } from '../priv/check.js';
import { capNameOf, capsForPriv, PRIV_CAP_ALL, privsForCap } from '../priv/mapping.js';
import type { ProfilePolicy } from '../priv/policy-hook.js';
import { Credential } from './credential.js';
import { initialCredentialFor } from './freebsd-host.js';
import type { HostDecision, PrivilegeHost } from './host.js';
import { hostFor } from './profile-host.js';

export type Request = { kind: 'priv'; priv: number; text: string } | { kind: 'cap'; cap: number; text: string };

/** A PRIV_* or CAP_* name (prefix optional when unambiguous, any case), or a privilege number. */
export function parseRequest(arg: string): Request {
  const t = arg.trim();
  const priv = /^priv_/i.test(t) || /^\d+$/.test(t) ? privByName(t) : undefined;
  if (priv) return { kind: 'priv', priv: priv.number, text: priv.name };
  const cap = /^priv_/i.test(t) ? undefined : capByName(t);
  if (cap !== undefined) {
    const alsoPriv = /^cap_/i.test(t) ? undefined : privByName(t);
    if (alsoPriv) {
      throw inputError(
        'ambiguous',
        `"${t}" names both ${CAPABILITIES[cap]!.name} and ${alsoPriv.name}; write the prefix`,
      );
    }
    return { kind: 'cap', cap, text: CAPABILITIES[cap]!.name };
  }
  const bare = !/^cap_/i.test(t) && !/^priv_/i.test(t) ? privByName(t) : undefined;
  if (bare) return { kind: 'priv', priv: bare.number, text: bare.name };
  const candidates = [...PRIVS.map((p) => p.name), ...CAPABILITIES.map((c) => c.name)];
  const prefixed = /^(cap|priv)_/i.test(t) ? t : undefined;
  const hint =
    closestName(prefixed ?? t, prefixed ? candidates : candidates.map((n) => n.replace(/^(PRIV|CAP)_/, ''))) ??
    closestName(t, candidates);
  throw inputError(
    'unknown-request',
    `unknown privilege or capability "${t}"${hint ? ` (did you mean ${hint}?)` : ''}`,
  );
}

export interface CheckResult {
  request: string;
  decision: 'allowed' | 'denied';
  stage: string;
  reason: string;
  errno: number;
  chain: string[];
}

export interface CheckOptions {
  host: 'linux' | 'freebsd';
  jailParams?: Record<string, string>;
  /** The thread's effective set; default: what the thread starts with (see docs/priv.md). */
  effective?: CapSet;
  uid?: number;
  /** The thread's whole credential (e.g. a live process's, from /proc/PID/status); excludes effective/uid. */
  cred?: Credential;
  policy?: ProfilePolicy;
  /** FreeBSD only: a native credential (uid 0 is the superuser) instead of a bridged Linux thread. */
  native?: boolean;
  /** The system call the use is made in ('' = none), for profile conditions and FreeBSD op rules. */
  syscall?: string;
}

function result(request: string, d: { errno: number; stage: string }, chain: string[]): CheckResult {
  return {
    request,
    decision: d.errno === 0 ? 'allowed' : 'denied',
    stage: d.stage,
    reason: chain[chain.length - 1] ?? '',
    errno: d.errno,
    chain,
  };
}

/** A host decision on one capability as chain lines (Linux words kept short and exact). */
function capLines(host: PrivilegeHost, cred: Credential, cap: number, d: HostDecision): string[] {
  const name = capNameOf(cap);
  // The FreeBSD host's reason is "CAP -> PRIV (path): stage; stage; ...": one line per stage.
  if (host.kind === 'freebsd') return d.reason.split('; ');
  if (d.stage !== 'capability') return [`${d.stage}: ${d.reason}`];
  if (d.errno === 0) return [`capability: effective set holds ${name}`];
  const rootNote = cred.euid === 0 ? ' (uid 0 is not enough: capable() reads the effective set)' : '';
  return [`capability: effective set lacks ${name}${rootNote}`];
}

/** Evaluate requests through the runtime's host (library form of the command). */
export function runCheck(requests: readonly Request[], opts: CheckOptions): CheckResult[] {
  if (opts.host === 'linux') {
    if (opts.jailParams && Object.keys(opts.jailParams).length > 0) {
      throw inputError('usage', '--jail-param needs --host freebsd');
    }
    if (opts.native) throw inputError('usage', '--native needs --host freebsd');
  }
  if (opts.cred && (opts.effective || opts.uid !== undefined || opts.native)) {
    throw inputError('usage', 'a whole credential (--pid) excludes --caps, --uid and --native');
  }
  const uid = opts.cred?.euid ?? opts.uid ?? 0;
  const syscall = opts.syscall ?? '';
  const built = hostFor({ kind: opts.host, policy: opts.policy, jailParams: opts.jailParams });
  const { host, freebsd } = built;

  let cred: Credential;
  if (opts.cred) {
    cred = opts.cred.clone();
    built.adjust?.(cred);
  } else if (freebsd) {
    if (opts.native && opts.effective)
      throw inputError('usage', '--caps and --native exclude each other (native credentials have no capabilities)');
    cred = initialCredentialFor(freebsd, uid);
    if (opts.effective) {
      cred.effLo = opts.effective.lo >>> 0;
      cred.effHi = opts.effective.hi >>> 0;
    }
  } else {
    const eff = opts.effective ?? (uid === 0 ? CapSet.FULL : CapSet.EMPTY);
    cred = Credential.from({ uid, effective: eff, permitted: eff, bounding: CapSet.FULL });
  }
  // FreeBSD privilege requests read priv_check in the host's prison.
  const privCred = (): PrivCred =>
    opts.native
      ? nativeCred(freebsd!.prison, uid)
      : bridgeCred(freebsd!.prison, cred.euid, cred.effLo, cred.effHi, cred.ruid);

  return requests.map((req) => {
    if (req.kind === 'cap') {
      if (opts.native) {
        // A native FreeBSD credential holds no capabilities: ask its privileges' verdicts.
        return nativeCap(req, privCred());
      }
      const d = host.capable(cred, req.cap, { syscall });
      return result(req.text, d, capLines(host, cred, req.cap, d));
    }
    if (freebsd) {
      const d = explainPrivCheck(privCred(), req.priv);
      const chain = [...d.chain];
      let errno = d.errno;
      if (!d.allowed) {
        const remap = callerDeniedErrno(req.priv);
        if (remap.errno !== 1) {
          chain.push(`caller: ${remap.note}`);
          errno = remap.errno;
        }
      }
      return result(req.text, { errno: d.allowed ? 0 : errno, stage: d.stage }, chain);
    }
    // Linux: a privilege is the capabilities it maps to (all of them, or any: PRIV_CAP_ALL).
    const caps = capsForPriv(req.priv);
    if (caps.length === 0) {
      return result(req.text, { errno: 1, stage: 'capability' }, [
        `capability: Linux has no capability for ${req.text} (Linux-less in data/cap-priv-map.tsv)`,
      ]);
    }
    const all = PRIV_CAP_ALL[req.priv] === 1;
    const ds = caps.map((c) => ({ c, d: host.capable(cred, c, { syscall }) }));
    const held = ds.filter((x) => x.d.errno === 0);
    const ok = all ? held.length === caps.length : held.length > 0;
    const firstFail = ds.find((x) => x.d.errno !== 0);
    const names = caps.map(capNameOf).join(all ? ' and ' : ' or ');
    const chain = ds.flatMap((x) => capLines(host, cred, x.c, x.d));
    chain.push(
      `capability: ${req.text} maps to ${names}; ${ok ? `allowed by ${held.map((x) => capNameOf(x.c)).join(', ')}` : 'not allowed'}`,
    );
    return result(req.text, ok ? { errno: 0, stage: 'capability' } : { errno: 1, stage: firstFail!.d.stage }, chain);
  });
}

/**
 * --native with a capability request: the capability's privileges for a native credential — all
 * of its high-confidence ones must pass (the capget rule), or any one for analogy-only mappings.
 */
function nativeCap(req: { cap: number; text: string }, cred: PrivCred): CheckResult {
  const high = privsForCap(req.cap, 'high');
  const privs = high.length > 0 ? high : privsForCap(req.cap);
  const chain: string[] = [];
  let fail: { stage: string } | undefined;
  let anyOk = false;
  for (const p of privs) {
    const d = explainPrivCheck(cred, p);
    chain.push(`${privName(p)}: ${d.allowed ? 'allowed' : 'denied'} at ${d.stage} — ${d.reason}`);
    if (d.allowed) anyOk = true;
    else fail ??= d;
  }
  const ok = high.length > 0 ? fail === undefined : anyOk;
  chain.push(`${req.text}: ${ok ? 'the privileges it maps to pass' : 'a privilege it maps to is refused'}`);
  return result(req.text, ok ? { errno: 0, stage: 'superuser' } : { errno: 1, stage: fail?.stage ?? 'default' }, chain);
}
