import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { CAP_COUNT, capByName } from '../../src/caps/catalog.js';
import { loadProfile } from '../../src/policy/index.js';
import { capReport, initialCapSets, reportableCaps } from '../../src/priv/bridge.js';
import { bridgeCred, compilePrison, explainPrivCheck, FULL_HI, FULL_LO } from '../../src/priv/check.js';
import { makeJailConfig } from '../../src/priv/jail.js';
import { makePrivPolicy } from '../../src/priv/policy-hook.js';
import { Credential } from '../../src/runtime/credential.js';
import { createFreeBSDHost, initialCredentialFor, reportableCapsFor } from '../../src/runtime/freebsd-host.js';
import { linuxHost } from '../../src/runtime/host.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CAP = (n: string) => capByName(n)!;
const names = (w: { lo: number; hi: number }) => CapSet.fromWords(w.lo, w.hi).toNames();
const prison = (params: Record<string, string> = {}) => compilePrison(makeJailConfig(params));

describe('capget reporting (illumos rule)', () => {
  it('a default jail reports the DAC, id and signal caps but not NET_RAW, MKNOD, SYS_ADMIN, SYS_MODULE', () => {
    const r = names(reportableCaps(prison()));
    for (const c of [
      'CAP_CHOWN',
      'CAP_DAC_OVERRIDE',
      'CAP_FOWNER',
      'CAP_KILL',
      'CAP_SETUID',
      'CAP_SETGID',
      'CAP_NET_BIND_SERVICE',
      'CAP_SYS_CHROOT',
    ]) {
      expect(r, c).toContain(c);
    }
    for (const c of [
      'CAP_NET_RAW',
      'CAP_MKNOD',
      'CAP_SYS_ADMIN',
      'CAP_SYS_MODULE',
      'CAP_SYS_TIME',
      'CAP_IPC_LOCK',
      'CAP_SYS_PTRACE',
    ]) {
      expect(r, c).not.toContain(c);
    }
  });
  it('allow.raw_sockets makes NET_RAW reportable; a vnet jail too', () => {
    expect(names(reportableCaps(prison({ 'allow.raw_sockets': '1' })))).toContain('CAP_NET_RAW');
    expect(names(reportableCaps(prison({ vnet: 'new' })))).toContain('CAP_NET_RAW');
  });
  it('explains why: MKNOD fails on its high-confidence privilege, SETPCAP is kept by the engine', () => {
    const pr = prison();
    const mk = capReport(pr, CAP('CAP_MKNOD'));
    expect(mk).toMatchObject({ reportable: false, rule: 'all-high', failing: [331] });
    expect(capReport(pr, CAP('CAP_SETPCAP'))).toMatchObject({ reportable: true, rule: 'no-counterpart' });
    expect(capReport(pr, CAP('CAP_MAC_OVERRIDE')).rule).toBe('any-mapped');
  });
  it('allow.suser=0 reports nothing; prison0 reports everything', () => {
    expect(reportableCaps(prison({ 'allow.suser': '0' }))).toEqual({ lo: 0, hi: 0 });
    expect(
      CapSet.fromWords(reportableCaps(prison({ jailed: '0' })).lo, reportableCaps(prison({ jailed: '0' })).hi).size,
    ).toBe(CAP_COUNT);
  });
  it('a profile removes capabilities from what is reported', () => {
    const pol = makePrivPolicy({
      name: 'p',
      capAllowLo: CapSet.FULL.remove(CAP('CAP_KILL')).lo,
      capAllowHi: CapSet.FULL.hi,
    });
    const r = names(reportableCaps(compilePrison(makeJailConfig(), pol)));
    expect(r).not.toContain('CAP_KILL');
    expect(r).toContain('CAP_CHOWN');
  });
  it("a profile's privilege rules do not change what is reported (the jail decides), only each use", () => {
    // capget reporting asks the jail alone; the profile's say is its capability sets (above).
    const veto = compilePrison(makeJailConfig(), makePrivPolicy({ name: 'v', deny: [50] })); // PRIV_CRED_SETUID
    expect(names(reportableCaps(veto))).toContain('CAP_SETUID');
    expect(reportableCaps(veto)).toEqual(reportableCaps(prison()));
    // ... but using it is vetoed at the policy stage.
    const root = bridgeCred(veto, 0, FULL_LO, FULL_HI);
    expect(explainPrivCheck(root, 50)).toMatchObject({ allowed: false, stage: 'policy' });
  });
  it('policies/ping.yaml with allow.raw_sockets=1 reports exactly CAP_NET_RAW; strict.yaml nothing', () => {
    // ping.yaml allows PRIV_NETINET_RAW only in socket(2) and denies PRIV_* (so PRIV_NETINET_SETHDROPTS,
    // high for NET_RAW, is vetoed): the jail allows both, the profile's set is {NET_RAW}.
    const raw = makeJailConfig({ 'allow.raw_sockets': '1' });
    const ping = compilePrison(raw, loadProfile(join(ROOT, 'policies', 'ping.yaml')));
    expect(names(reportableCaps(ping))).toEqual(['CAP_NET_RAW']);
    expect(capReport(ping, CAP('CAP_NET_RAW'))).toMatchObject({ reportable: true, rule: 'all-high', failing: [] });
    // Without the parameter the jail refuses PRIV_NETINET_RAW: nothing.
    const pingNoRaw = compilePrison(makeJailConfig(), loadProfile(join(ROOT, 'policies', 'ping.yaml')));
    expect(capReport(pingNoRaw, CAP('CAP_NET_RAW'))).toMatchObject({ reportable: false, rule: 'all-high' });
    const strict = compilePrison(raw, loadProfile(join(ROOT, 'policies', 'strict.yaml')));
    expect(reportableCaps(strict)).toEqual({ lo: 0, hi: 0 });
    expect(capReport(strict, CAP('CAP_NET_RAW')).rule).toBe('profile');
  });
  it('initial sets: root gets P = E = B = reportable; other uids only B', () => {
    const pr = prison();
    const r = reportableCaps(pr);
    expect(initialCapSets(pr, 0)).toEqual({
      effective: r,
      permitted: r,
      inheritable: { lo: 0, hi: 0 },
      bounding: r,
      ambient: { lo: 0, hi: 0 },
    });
    expect(initialCapSets(pr, 1000).permitted).toEqual({ lo: 0, hi: 0 });
    expect(initialCapSets(pr, 1000).bounding).toEqual(r);
  });
});

describe('FreeBSD PrivilegeHost (contract 1)', () => {
  const raw = { syscall: 'socket', detail: 'AF_INET SOCK_RAW IPPROTO_ICMP' };
  it('raw socket: jail stage, capability stage, allowed', () => {
    const noRaw = createFreeBSDHost({ jailParams: {} });
    const root = initialCredentialFor(noRaw, 0);
    const d1 = noRaw.capable(Credential.root(), CAP('CAP_NET_RAW'), raw);
    expect(d1).toMatchObject({ errno: 1, stage: 'jail' });
    expect(d1.reason).toMatch(/^CAP_NET_RAW -> PRIV_NETINET_RAW \(rip_attach/);
    expect(root.hasEffective(CAP('CAP_NET_RAW'))).toBe(false);
    const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' } });
    const cred = initialCredentialFor(host, 0);
    expect(cred.hasEffective(CAP('CAP_NET_RAW'))).toBe(true);
    expect(host.capable(cred, CAP('CAP_NET_RAW'), raw)).toMatchObject({ errno: 0, stage: 'capability' });
    const dropped = Credential.from({
      uid: 0,
      effective: cred.effective.remove(CAP('CAP_NET_RAW')),
      permitted: cred.permitted,
    });
    expect(host.capable(dropped, CAP('CAP_NET_RAW'), raw)).toMatchObject({ errno: 1, stage: 'capability' });
  });
  it('reserved port denial surfaces as EACCES via the caller remap', () => {
    const host = createFreeBSDHost({ jailParams: { 'allow.reserved_ports': '0' } });
    const d = host.capable(Credential.root(), CAP('CAP_NET_BIND_SERVICE'), {
      syscall: 'bind',
      detail: 'AF_INET port 80',
    });
    expect(d.errno).toBe(13);
    expect(d.stage).toBe('jail');
    expect(d.reason).toMatch(/in_pcbbind_setup\(\) returns EACCES/);
    const ok = createFreeBSDHost({ jailParams: {} });
    expect(ok.capable(Credential.root(), CAP('CAP_NET_BIND_SERVICE'), { syscall: 'bind' }).errno).toBe(0);
  });
  it('mount: enforce_statfs and allow.mount.<fs> both matter', () => {
    const op = { syscall: 'mount', detail: 'tmpfs on /mnt' };
    const sa = CAP('CAP_SYS_ADMIN');
    expect(createFreeBSDHost({ jailParams: { 'allow.mount': '1' } }).capable(Credential.root(), sa, op)).toMatchObject({
      errno: 1,
      stage: 'jail',
    });
    const noFs = createFreeBSDHost({ jailParams: { 'allow.mount': '1', enforce_statfs: '1' } }).capable(
      Credential.root(),
      sa,
      op,
    );
    expect(noFs).toMatchObject({ errno: 1, stage: 'caller' });
    expect(noFs.reason).toMatch(/allow\.mount\.tmpfs=1/);
    const params = { 'allow.mount': '1', enforce_statfs: '1', 'allow.mount.tmpfs': '1' };
    expect(createFreeBSDHost({ jailParams: params }).capable(Credential.root(), sa, op).errno).toBe(0);
  });
  it('mknod in a jail is never allowed; setuid with allow.suser=0 is denied', () => {
    const all = createFreeBSDHost({ jailParams: { vnet: 'new', 'allow.mount': '1', enforce_statfs: '0' } });
    expect(
      all.capable(Credential.root(), CAP('CAP_MKNOD'), { syscall: 'mknod', detail: '/dev/sda b 8 0' }),
    ).toMatchObject({ errno: 1, stage: 'jail' });
    const nosu = createFreeBSDHost({ jailParams: { 'allow.suser': '0' } });
    const d = nosu.capable(Credential.root(), CAP('CAP_SETUID'), { syscall: 'setuid', detail: '1000' });
    expect(d).toMatchObject({ errno: 1, stage: 'capability' });
    expect(d.reason).toMatch(/allow\.suser=0/);
  });
  it('securelevel and children.max are caller checks', () => {
    const kld = createFreeBSDHost({ jailParams: { jailed: '0', securelevel: '1' } });
    const d = kld.capable(Credential.root(), CAP('CAP_SYS_MODULE'), { syscall: 'finit_module' });
    expect(d).toMatchObject({ errno: 1, stage: 'caller' });
    expect(d.reason).toMatch(/securelevel is 1/);
    const jail = createFreeBSDHost({ jailParams: {} });
    expect(
      jail.capable(Credential.root(), CAP('CAP_SYS_ADMIN'), { syscall: 'unshare', detail: 'CLONE_NEWNS' }),
    ).toMatchObject({ stage: 'caller' });
  });
  it('capabilities without a FreeBSD counterpart are decided by the effective set', () => {
    const host = createFreeBSDHost({ jailParams: {} });
    expect(host.capable(Credential.root(), CAP('CAP_LEASE'), { syscall: 'fcntl', detail: 'F_SETLEASE' }).errno).toBe(0);
    const none = Credential.from({ uid: 0, effective: CapSet.EMPTY });
    expect(host.capable(none, CAP('CAP_LEASE'), { syscall: 'fcntl' }).errno).toBe(1);
  });
  it('in prison0 with every capability, gives the same answers as linuxHost for mapped operations', () => {
    const host = createFreeBSDHost({ jailParams: { jailed: '0' } });
    const ops: [string, { syscall: string; detail?: string }][] = [
      ['CAP_NET_RAW', raw],
      ['CAP_CHOWN', { syscall: 'chown' }],
      ['CAP_SETUID', { syscall: 'setresuid' }],
      ['CAP_KILL', { syscall: 'kill' }],
      ['CAP_SYS_CHROOT', { syscall: 'chroot' }],
      ['CAP_SYS_ADMIN', { syscall: 'mount', detail: 'tmpfs' }],
      ['CAP_MKNOD', { syscall: 'mknod' }],
      ['CAP_SYS_TIME', { syscall: 'settimeofday' }],
    ];
    for (const [cap, op] of ops) {
      for (const cred of [Credential.root(), Credential.from({ uid: 0, effective: CapSet.EMPTY })]) {
        expect(host.capable(cred, CAP(cap), op).errno === 0, `${cap} ${op.syscall}`).toBe(
          linuxHost.capable(cred, CAP(cap), op).errno === 0,
        );
      }
    }
  });
  it('reports the reportable set for the jail', () => {
    const host = createFreeBSDHost({ jailParams: { 'allow.raw_sockets': '1' } });
    expect(reportableCapsFor(host).has(CAP('CAP_NET_RAW'))).toBe(true);
    expect(initialCredentialFor(host, 1000).permitted.isEmpty()).toBe(true);
    expect(() => createFreeBSDHost({ jailParams: { 'allow.raw_sockts': '1' } })).toThrow(
      /did you mean allow\.raw_sockets/,
    );
  });
});

describe('FreeBSD host: operations the Linuxulator cannot perform', () => {
  it('AF_PACKET sockets fail with EAFNOSUPPORT whatever the capabilities', () => {
    const host = createFreeBSDHost({ jailParams: { jailed: '0' } });
    const d = host.capable(Credential.root(), CAP('CAP_NET_RAW'), {
      syscall: 'socket',
      detail: 'AF_PACKET SOCK_RAW 768',
    });
    expect(d).toMatchObject({ errno: 97, stage: 'linuxulator' });
  });
});
