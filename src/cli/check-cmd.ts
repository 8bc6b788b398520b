/**
 * `capctl check`: would this thread get this privilege or capability? On --host freebsd the
 * answer comes from priv_check in a jail (the bridge: jail, profile and the thread's effective
 * capabilities; or --native: uid 0 is the superuser); on --host linux from the effective set
 * (and the profile's capability mask). Exit 0 when every request is allowed, 1 when any is
 * denied, 2 on bad input.
 */
import type { Command } from 'commander';
import { CapSet } from '../caps/capset.js';
import { CAPABILITIES, capByName, closestName } from '../caps/catalog.js';
import { inputError } from '../caps/errors.js';
import { parseCapText } from '../caps/text.js';
import { resolveProfile } from '../policy/index.js';
import { initialCapSets } from '../priv/bridge.js';
import { callerDeniedErrno } from '../priv/caller.js';
import { PRIVS, privByName, privName } from '../priv/catalog.js';
import { bridgeCred, compilePrison, explainPrivCheck, nativeCred, type Prison, type PrivCred } from '../priv/check.js';
import { makeJailConfig, parseJailParamArgs } from '../priv/jail.js';
import { capHasNoCounterpart, capNameOf, capsForPriv, PRIV_CAP_ALL, privsForCap } from '../priv/mapping.js';
import type { PrivPolicy } from '../priv/policy-hook.js';
import { parseIntFlag, UID_MAX } from './flags.js';
import { printJson } from './output.js';

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
  policy?: PrivPolicy;
  /** FreeBSD only: a native credential (uid 0 is the superuser) instead of a bridged Linux thread. */
  native?: boolean;
}

function result(
  request: string,
  allowed: boolean,
  stage: string,
  chain: string[],
  errno = allowed ? 0 : 1,
): CheckResult {
  return {
    request,
    decision: allowed ? 'allowed' : 'denied',
    stage,
    reason: chain[chain.length - 1] ?? '',
    errno,
    chain,
  };
}

function capInMask(cap: number, lo: number, hi: number): boolean {
  return cap < 32 ? ((lo >>> cap) & 1) === 1 : ((hi >>> (cap - 32)) & 1) === 1;
}

function checkFreeBSD(req: Request, cred: PrivCred, pr: Prison): CheckResult {
  if (req.kind === 'priv') {
    const d = explainPrivCheck(cred, req.priv);
    const chain = [...d.chain];
    let errno = d.errno;
    if (!d.allowed) {
      const remap = callerDeniedErrno(req.priv);
      if (remap.errno !== 1) {
        chain.push(`caller: ${remap.note}`);
        errno = remap.errno;
      }
    }
    return result(req.text, d.allowed, d.stage, chain, errno);
  }
  const cap = req.cap;
  if (capHasNoCounterpart(cap)) {
    const held = capInMask(cap, cred.effLo & pr.capAllowLo, cred.effHi & pr.capAllowHi);
    const ok = pr.suser && (cred.bridge ? held : cred.uid === 0);
    return result(req.text, ok, 'capability', [
      `capability: ${req.text} has no FreeBSD counterpart; the engine keeps it: ${ok ? 'held' : 'not held'}${pr.suser ? '' : ' (allow.suser=0)'}`,
    ]);
  }
  // A capability passes when every high-confidence privilege it maps to passes (the capget rule);
  // capabilities mapped only by analogy pass when any of their privileges does.
  const high = privsForCap(cap, 'high');
  const privs = high.length > 0 ? high : privsForCap(cap);
  const needAll = high.length > 0;
  const chain: string[] = [];
  let firstFail: { stage: string } | undefined;
  let anyOk = false;
  for (const p of privs) {
    const d = explainPrivCheck(cred, p);
    chain.push(`${privName(p)}: ${d.allowed ? 'allowed' : 'denied'} at ${d.stage} — ${d.reason}`);
    if (d.allowed) anyOk = true;
    else firstFail ??= d;
  }
  const ok = needAll ? firstFail === undefined : anyOk;
  chain.push(
    ok
      ? `${req.text}: ${needAll ? 'every high-confidence privilege passes' : 'a mapped privilege passes'}`
      : `${req.text}: ${needAll ? 'a high-confidence privilege is refused' : 'no mapped privilege passes'}`,
  );
  return result(req.text, ok, ok ? (cred.bridge ? 'capability' : 'superuser') : (firstFail?.stage ?? 'default'), chain);
}

function checkLinux(req: Request, eff: CapSet, uid: number, policy: PrivPolicy | undefined): CheckResult {
  const lo = eff.lo & (policy ? policy.capAllowLo : 0xffffffff);
  const hi = eff.hi & (policy ? policy.capAllowHi : 0x1ff);
  const profileNote = (c: number) =>
    policy && eff.has(c) && !capInMask(c, policy.capAllowLo, policy.capAllowHi)
      ? ` (held, but profile ${policy.name} does not allow it)`
      : '';
  if (req.kind === 'cap') {
    const ok = capInMask(req.cap, lo, hi);
    return result(req.text, ok, ok ? 'capability' : profileNote(req.cap) ? 'profile' : 'capability', [
      `capability: effective set ${ok ? 'holds' : 'lacks'} ${req.text}${profileNote(req.cap)}${!ok && uid === 0 ? ' (uid 0 is not enough: capable() reads the effective set)' : ''}`,
    ]);
  }
  const caps = capsForPriv(req.priv);
  if (caps.length === 0) {
    return result(req.text, false, 'capability', [
      `capability: Linux has no capability for ${req.text} (Linux-less in data/cap-priv-map.tsv)`,
    ]);
  }
  const all = PRIV_CAP_ALL[req.priv] === 1;
  const held = caps.filter((c) => capInMask(c, lo, hi));
  const ok = all ? held.length === caps.length : held.length > 0;
  const names = caps.map(capNameOf).join(all ? ' and ' : ' or ');
  return result(req.text, ok, 'capability', [
    `capability: ${req.text} maps to ${names}; effective set ${ok ? 'holds' : 'lacks'} ${ok ? held.map(capNameOf).join(', ') : 'them'}`,
  ]);
}

/** Evaluate requests (library form of the command). */
export function runCheck(requests: readonly Request[], opts: CheckOptions): CheckResult[] {
  const uid = opts.uid ?? 0;
  if (opts.host === 'linux') {
    if (opts.jailParams && Object.keys(opts.jailParams).length > 0) {
      throw inputError('usage', '--jail-param needs --host freebsd');
    }
    if (opts.native) throw inputError('usage', '--native needs --host freebsd');
    const eff = opts.effective ?? (uid === 0 ? CapSet.FULL : CapSet.EMPTY);
    return requests.map((r) => checkLinux(r, eff, uid, opts.policy));
  }
  const pr = compilePrison(makeJailConfig(opts.jailParams ?? {}), opts.policy);
  let cred: PrivCred;
  if (opts.native) {
    if (opts.effective)
      throw inputError('usage', '--caps and --native exclude each other (native credentials have no capabilities)');
    cred = nativeCred(pr, uid);
  } else {
    const start = initialCapSets(pr, uid).effective;
    const eff = opts.effective ?? CapSet.fromWords(start.lo, start.hi);
    cred = bridgeCred(pr, uid, eff.lo, eff.hi);
  }
  return requests.map((r) => checkFreeBSD(r, cred, pr));
}

interface CliOptions {
  host: string;
  jailParam: string[];
  caps?: string;
  uid?: string;
  profile?: string;
  native?: boolean;
  json?: boolean;
}

export function register(program: Command): void {
  program
    .command('check')
    .description('would a thread get these privileges/capabilities? allowed/denied with the reason chain')
    .argument('<REQUEST...>', 'PRIV_* or CAP_* names (prefix optional), or privilege numbers')
    .option('--host <KIND>', 'freebsd: priv_check in a jail (the bridge); linux: the effective set', 'freebsd')
    .option(
      '--jail-param <K=V>',
      'jail(8) parameter, e.g. allow.raw_sockets=1 (repeatable; --host freebsd)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option('--caps <TEXT>', 'the thread\'s capabilities in libcap text (its E set is used), e.g. "cap_net_raw=ep"')
    .option('--uid <N>', 'effective (and real) uid of the thread', '0')
    .option('--profile <FILE>', 'YAML profile attached to the jail (veto/grant stages, capability mask)')
    .option('--native', 'freebsd: a native FreeBSD credential (uid 0 is the superuser) instead of a Linux thread')
    .option('--json', 'print JSON: [{request, decision, stage, reason, errno, chain}]')
    .addHelpText(
      'after',
      `
Without --caps the thread holds what it would start with: on freebsd the capabilities capget
reports in that jail (root) or none (other uids); on linux all (root) or none.

Exit status: 0 all allowed, 1 any denied, 2 bad input.

Examples:
  capctl check PRIV_NETINET_RAW                                   # denied: exit 1
  capctl check --jail-param allow.raw_sockets=1 CAP_NET_RAW PRIV_NETINET_RAW
  capctl check --jail-param vnet=new --caps '=ep cap_net_raw-e' PRIV_NETINET_RAW   # jail passes, caps deny: exit 1
  capctl check --native --jail-param allow.suser=0 PRIV_CRED_SETUID   # root confers nothing: exit 1
  capctl check --host linux --caps cap_net_bind_service=ep CAP_NET_BIND_SERVICE
  capctl check --json --caps cap_sys_admin=ep --jail-param allow.mount=1 --jail-param enforce_statfs=1 PRIV_VFS_MOUNT`,
    )
    .action((args: string[], o: CliOptions) => {
      if (o.host !== 'linux' && o.host !== 'freebsd')
        throw inputError('usage', `--host must be linux or freebsd, got "${o.host}"`);
      const uid = parseIntFlag('--uid', o.uid ?? '0', { max: UID_MAX, what: 'a uid' });
      const requests = args.map(parseRequest);
      const jailParams = parseJailParamArgs(o.jailParam);
      const policy = o.profile !== undefined ? resolveProfile(o.profile) : undefined;
      // A profile's own jail section is the base; --jail-param overrides it.
      const fromProfile = policy?.profile.jail ?? {};
      const merged = o.host === 'freebsd' ? { ...fromProfile, ...jailParams } : jailParams;
      const results = runCheck(requests, {
        host: o.host,
        jailParams: merged,
        effective: o.caps !== undefined ? parseCapText(o.caps).effective : undefined,
        uid,
        policy,
        native: o.native === true,
      });
      if (o.json) {
        printJson(
          results.map(({ request, decision, stage, reason, errno, chain }) => ({
            request,
            decision,
            stage,
            reason,
            errno,
            chain,
          })),
        );
      } else {
        const out: string[] = [];
        for (const r of results) {
          const errno = r.errno === 0 ? '' : r.errno === 13 ? ', EACCES' : r.errno === 79 ? ', EFTYPE' : ', EPERM';
          out.push(`${r.request}: ${r.decision} (${r.stage}${errno})`);
          for (const line of r.chain) out.push(`  ${line}`);
        }
        process.stdout.write(`${out.join('\n')}\n`);
      }
      if (results.some((r) => r.decision === 'denied')) process.exitCode = 1;
    });
}
