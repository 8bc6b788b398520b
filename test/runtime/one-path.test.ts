/**
 * One decision path (issue 8): every capability use in the runtime — privileged operations and
 * the capability tests inside capset, prctl, set*id and execve — asks the host, so a profile
 * restricts all of them, on both hosts. A table of syscall family × profile × host, each row
 * run through the runtime (the path replay takes) and through `runCheck` (the path `capctl
 * check` takes) for the same capability: the two must agree.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { capByName } from '../../src/caps/catalog.js';
import { type CompiledProfile, loadProfile } from '../../src/policy/index.js';
import { policiesDir } from '../../src/policy/paths.js';
import { runCheck } from '../../src/runtime/check.js';
import { Credential } from '../../src/runtime/credential.js';
import type { DecisionEvent } from '../../src/runtime/host.js';
import { hostFor } from '../../src/runtime/profile-host.js';
import { createRuntime } from '../../src/runtime/runtime.js';
import { profileDir } from '../policy/helpers.js';
import { caps, HOST_FULL, set3 } from './helpers.js';

const PR_CAPBSET_DROP = 24;
const PR_SET_SECUREBITS = 28;
const AF_INET = 2;
const SOCK_RAW = 3;

const write = (yaml: string) => loadProfile(join(profileDir({ 'p.yaml': yaml }), 'p.yaml'));

interface Family {
  name: string;
  cap: string;
  /** Run the call on a fresh runtime; return the errno it gives (0 = done as asked). */
  run: (host: ReturnType<typeof hostFor>['host'], events: DecisionEvent[]) => number;
}

function runtimeWith(host: ReturnType<typeof hostFor>['host'], events: DecisionEvent[], init = {}) {
  const rt = createRuntime({ host, onDecision: (ev) => events.push(ev) });
  const cred = Credential.from({ effective: HOST_FULL, permitted: HOST_FULL, bounding: HOST_FULL, ...init });
  return { rt, tid: rt.spawn(cred, { tid: 1000 }).tid };
}

const FAMILIES: Family[] = [
  {
    name: 'capset (inheritable beyond I|P)',
    cap: 'SETPCAP',
    run(host, ev) {
      const p = HOST_FULL & ~caps('NET_RAW');
      const { rt, tid } = runtimeWith(host, ev, { effective: p, permitted: p });
      return set3(rt, tid, { e: p, p, i: caps('NET_RAW') }).errno;
    },
  },
  {
    name: 'prctl(PR_CAPBSET_DROP)',
    cap: 'SETPCAP',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.prctl(tid, PR_CAPBSET_DROP, capByName('SYS_ADMIN')!).errno;
    },
  },
  {
    name: 'prctl(PR_SET_SECUREBITS)',
    cap: 'SETPCAP',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.prctl(tid, PR_SET_SECUREBITS, 0x10).errno;
    },
  },
  {
    name: 'setresuid',
    cap: 'SETUID',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.setresuid(tid, 1000, 1000, 1000).errno;
    },
  },
  {
    name: 'setuid',
    cap: 'SETUID',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.setuid(tid, 1000).errno;
    },
  },
  {
    name: 'setgroups',
    cap: 'SETGID',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.setgroups(tid, 1, [100]).errno;
    },
  },
  {
    name: 'execve of a set-uid-root file under an unprivileged tracer',
    cap: 'SETUID',
    run(host, ev) {
      // uid 1000 holding CAP_SETUID; without it (for the host) the exec keeps euid 1000.
      const { rt, tid } = runtimeWith(host, ev, { uid: 1000 });
      const r = rt.execve(tid, { mode: 0o4755, uid: 0 }, { tracedByUnprivileged: true });
      if (r.errno !== 0) return r.errno;
      return rt.cred(r.tid ?? tid).euid === 0 ? 0 : 1;
    },
  },
  {
    name: 'socket(AF_INET, SOCK_RAW)',
    cap: 'NET_RAW',
    run(host, ev) {
      const { rt, tid } = runtimeWith(host, ev);
      return rt.socket(tid, AF_INET, SOCK_RAW, 1).errno;
    },
  },
];

const PROFILES: [string, () => CompiledProfile | undefined][] = [
  ['no profile', () => undefined],
  ['strict', () => loadProfile(join(policiesDir(), 'strict.yaml'))],
  ['allows all 41', () => write('name: all\ncapabilities:\n  bounding: ALL\n')],
];

describe.each(['linux', 'freebsd'] as const)('host %s: every capability use asks the host', (kind) => {
  for (const fam of FAMILIES) {
    // FreeBSD: the jail must let raw sockets through for the "allowed" rows to mean anything.
    const jailParams = kind === 'freebsd' ? { 'allow.raw_sockets': '1' } : undefined;
    it.each(PROFILES)(`${fam.name} (CAP_${fam.cap}) under %s`, (label, make) => {
      const policy = make();
      const { host } = hostFor({ kind, policy, jailParams });
      const events: DecisionEvent[] = [];
      const errno = fam.run(host, events);
      const expectAllowed = label !== 'strict';
      expect(errno === 0, `errno ${errno}`).toBe(expectAllowed);
      const cap = capByName(fam.cap)!;
      // The decision went to the host and was reported with the capability.
      const mine = events.filter((e) => e.cap === cap);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.at(-1)!.errno === 0).toBe(expectAllowed);
      if (label === 'strict') expect(mine.at(-1)!.host).toBe(kind);
      // capctl check asks the same host the same question and gives the same answer.
      const [c] = runCheck([{ kind: 'cap', cap, text: `CAP_${fam.cap}` }], {
        host: kind,
        policy,
        jailParams,
        cred: Credential.from({ effective: HOST_FULL, permitted: HOST_FULL, bounding: HOST_FULL }),
        syscall: mine.at(-1)!.syscall,
      });
      expect(c!.decision).toBe(expectAllowed ? 'allowed' : 'denied');
    });
  }
});

describe('the issue 8 example', () => {
  it('prctl(PR_CAPBSET_DROP) and setresuid under strict.yaml are denied with audit-ready events', () => {
    const policy = loadProfile(join(policiesDir(), 'strict.yaml'));
    const { host } = hostFor({ kind: 'linux', policy });
    const events: DecisionEvent[] = [];
    const { rt, tid } = runtimeWith(host, events);
    expect(rt.prctl(tid, PR_CAPBSET_DROP, capByName('SYS_ADMIN')!).errno).toBe(1);
    expect(rt.setresuid(tid, 1000, 1000, 1000).errno).toBe(1);
    expect(events.map((e) => [e.syscall, e.stage, e.errno])).toEqual([
      ['prctl', 'profile', 1],
      ['setresuid', 'profile', 1],
    ]);
    expect(events[0]!.reason).toMatch(/profile strict denies CAP_SETPCAP/);
    // and check agrees (it used to answer from its own copy of the rule)
    const r = runCheck(
      [
        { kind: 'cap', cap: capByName('SETPCAP')!, text: 'CAP_SETPCAP' },
        { kind: 'cap', cap: capByName('SETUID')!, text: 'CAP_SETUID' },
      ],
      { host: 'linux', policy, effective: CapSet.FULL },
    );
    expect(r.map((x) => [x.decision, x.stage])).toEqual([
      ['denied', 'profile'],
      ['denied', 'profile'],
    ]);
  });
});
