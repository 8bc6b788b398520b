/**
 * Profile rules with uid or system-call conditions reach priv_check exactly: the prison's
 * tables only approximate them, so the FreeBSD host asks the profile for the request at hand.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { loadProfile } from '../../src/policy/index.js';
import { createFreeBSDHost } from '../../src/runtime/freebsd-host.js';
import { Credential } from '../../src/runtime/index.js';

const NET_RAW = 13;
const NBS = 10;
const RAW = { syscall: 'socket', detail: 'AF_INET SOCK_RAW' };

function profile(yaml: string) {
  const dir = mkdtempSync(join(tmpdir(), 'capctl-cond-'));
  const file = join(dir, 'p.yaml');
  writeFileSync(file, yaml);
  return loadProfile(file);
}

function cred(euid: number, caps: number[]) {
  const set = CapSet.of(...caps);
  return Credential.from({ uid: [euid, euid, euid, euid], effective: set, permitted: set, bounding: CapSet.FULL });
}

describe('conditional profile rules in priv_check (FreeBSD host)', () => {
  const byUid = profile(`name: by-uid
capabilities:
  bounding: [NET_RAW, NET_BIND_SERVICE]
rules:
  - effect: deny
    caps: [NET_RAW]
    when: { uid: 1000-1999 }
`);
  const p = profile(`name: by-syscall
capabilities:
  bounding: [NET_RAW, NET_BIND_SERVICE]
rules:
  - effect: deny
    privs: [PRIV_NETINET_RESERVEDPORT]
    when: { syscall: [bind] }
  - effect: allow
    privs: [PRIV_NETINET_RAW]
    when: { syscall: [socket] }
`);
  const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' }, policy: p });

  it('a capability denied for a uid range is refused to that uid only', () => {
    const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' }, policy: byUid });
    // The table approximation keeps NET_RAW (some uid may use it); the request decides.
    expect(host.capable(cred(0, [NET_RAW]), NET_RAW, RAW)).toMatchObject({ errno: 0 });
    expect(host.capable(cred(2000, [NET_RAW]), NET_RAW, RAW)).toMatchObject({ errno: 0 });
    expect(host.capable(cred(1500, [NET_RAW]), NET_RAW, RAW)).toMatchObject({ errno: 1, stage: 'capability' });
  });

  it('a privilege vetoed for one system call is vetoed there and nowhere else', () => {
    const d = host.capable(cred(0, [NBS]), NBS, { syscall: 'bind', detail: 'port 80' });
    expect(d).toMatchObject({ errno: 13, stage: 'policy' });
    // The same privilege reached through another call is not vetoed (here: no rule matches).
    expect(p.privVerdictFor(490, 0, 'connect')).toBe(0);
    expect(p.privVerdictFor(490, 0, 'bind')).toBe(1);
  });

  it('a conditional grant applies only to its system call', () => {
    // Granted at priv_check's grant stage for socket even without the capability (as
    // mac_priv_grant() would), and not for another call.
    expect(host.capable(cred(1500, []), NET_RAW, RAW)).toMatchObject({ errno: 0, stage: 'policy-grant' });
    expect(p.privVerdictFor(497, 0, 'socket')).toBe(2);
    expect(p.privVerdictFor(497, 0, 'sendto')).toBe(0);
    // The approximation in the tables gives no verdict for it.
    expect(p.privVerdicts[497]).toBe(0);
  });
});
