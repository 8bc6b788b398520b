import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CapSet } from '../../src/caps/capset.js';
import { capByName } from '../../src/caps/catalog.js';
import { PRIVS, privByName } from '../../src/priv/catalog.js';
import {
  bridgeCred,
  CODE_INVALID,
  codeAllowed,
  codeErrno,
  codeStage,
  compilePrison,
  explainPrivCheck,
  nativeCred,
  privCheck,
  STAGE_NAMES,
} from '../../src/priv/check.js';
import { JAIL_PARAMS, makeJailConfig, prisonPrivCheck } from '../../src/priv/jail.js';
import { makePrivPolicy } from '../../src/priv/policy-hook.js';

const P = (n: string) => privByName(n)!.number;
const CAP = (n: string) => capByName(n)!;
const FULL = CapSet.FULL;
const jail = (params: Record<string, string> = {}, policy?: Parameters<typeof compilePrison>[1]) =>
  compilePrison(makeJailConfig(params), policy);
const root = (pr: ReturnType<typeof jail>, caps: CapSet = FULL) => bridgeCred(pr, 0, caps.lo, caps.hi);

describe('priv_check scenarios (bridge)', () => {
  it('raw ICMP socket in a non-vnet jail without allow.raw_sockets: denied at the jail stage', () => {
    const d = explainPrivCheck(root(jail()), P('PRIV_NETINET_RAW'));
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('jail');
    expect(d.reason).toMatch(/needs vnet\|allow\.raw_sockets.*allow\.raw_sockets=0: EPERM/);
  });
  it('with allow.raw_sockets but CAP_NET_RAW dropped: denied at the capability stage', () => {
    const d = explainPrivCheck(
      root(jail({ 'allow.raw_sockets': '1' }), FULL.remove(CAP('CAP_NET_RAW'))),
      P('PRIV_NETINET_RAW'),
    );
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('capability');
    expect(d.chain).toEqual([
      'policy: no profile attached',
      'jail: PRIV_NETINET_RAW needs vnet|allow.raw_sockets; this jail has vnet=inherit, allow.raw_sockets=1: allowed',
      'capability: effective set lacks CAP_NET_RAW (uid 0 alone does not count on the bridge)',
      'no grant applies to PRIV_NETINET_RAW (KMEM_READ, DEBUG_UNPRIV, profile): EPERM',
    ]);
  });
  it('with allow.raw_sockets and CAP_NET_RAW: allowed at the capability stage', () => {
    const d = explainPrivCheck(
      root(jail({ 'allow.raw_sockets': '1' }), CapSet.of(CAP('CAP_NET_RAW'))),
      P('PRIV_NETINET_RAW'),
    );
    expect(d.allowed).toBe(true);
    expect(d.stage).toBe('capability');
    expect(d.reason).toBe('capability: effective set holds CAP_NET_RAW: allowed');
  });
  it('vnet jail raw socket without allow.raw_sockets: allowed', () => {
    const d = explainPrivCheck(root(jail({ vnet: 'new' })), P('PRIV_NETINET_RAW'));
    expect(d.allowed).toBe(true);
    expect(d.chain[1]).toMatch(/vnet=new, allow\.raw_sockets=0: allowed/);
  });
  it('mknod of a device in a jail: never, whatever the capabilities and parameters', () => {
    const all = Object.fromEntries(
      JAIL_PARAMS.filter((p) => p.kind === 'bool' && p.name !== 'jailed').map((p) => [p.name, '1']),
    );
    const d = explainPrivCheck(root(jail({ ...all, vnet: 'new', enforce_statfs: '0' })), P('PRIV_VFS_MKNOD_DEV'));
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('jail');
    expect(d.reason).toMatch(/never allowed in a jail/);
    expect(explainPrivCheck(nativeCred(jail(all), 0), P('PRIV_VFS_MKNOD_DEV')).stage).toBe('jail');
  });
  it('setuid by jailed root with allow.suser=0: denied', () => {
    const pr = jail({ 'allow.suser': '0' });
    const bridged = explainPrivCheck(root(pr), P('PRIV_CRED_SETUID'));
    expect(bridged.allowed).toBe(false);
    expect(bridged.chain[2]).toBe('capability: allow.suser=0, so no capability confers privilege');
    const native = explainPrivCheck(nativeCred(pr, 0), P('PRIV_CRED_SETUID'));
    expect(native.allowed).toBe(false);
    expect(native.chain[2]).toBe('superuser: allow.suser=0, so uid 0 confers no privilege');
    expect(explainPrivCheck(root(jail()), P('PRIV_CRED_SETUID')).allowed).toBe(true);
  });
  it('mount with allow.mount but enforce_statfs=2: denied at the jail stage', () => {
    const d = explainPrivCheck(root(jail({ 'allow.mount': '1' })), P('PRIV_VFS_MOUNT'));
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('jail');
    expect(d.reason).toMatch(
      /needs allow\.mount&enforce_statfs<2; this jail has allow\.mount=1, enforce_statfs=2: EPERM/,
    );
    expect(explainPrivCheck(root(jail({ 'allow.mount': '1', enforce_statfs: '1' })), P('PRIV_VFS_MOUNT')).allowed).toBe(
      true,
    );
  });
  it('uid 0 alone is not enough on the bridge; a non-root thread holding the capability is', () => {
    const pr = jail({ 'allow.raw_sockets': '1' });
    expect(codeAllowed(privCheck(bridgeCred(pr, 0, 0, 0), P('PRIV_NETINET_RAW')))).toBe(false);
    expect(codeAllowed(privCheck(bridgeCred(pr, 1000, 1 << CAP('CAP_NET_RAW'), 0), P('PRIV_NETINET_RAW')))).toBe(true);
    expect(codeAllowed(privCheck(nativeCred(pr, 0), P('PRIV_NETINET_RAW')))).toBe(true);
    expect(codeAllowed(privCheck(nativeCred(pr, 1000), P('PRIV_NETINET_RAW')))).toBe(false);
  });
  it('combine=all: jail_attach needs CAP_SYS_ADMIN and CAP_SYS_CHROOT', () => {
    const pr = jail();
    const ja = P('PRIV_JAIL_ATTACH');
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_SYS_ADMIN'))), ja))).toBe(false);
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_SYS_CHROOT'))), ja))).toBe(false);
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_SYS_CHROOT'), CAP('CAP_SYS_ADMIN'))), ja))).toBe(true);
    expect(explainPrivCheck(root(pr, CapSet.of(CAP('CAP_SYS_ADMIN'))), ja).chain[2]).toBe(
      'capability: needs CAP_SYS_CHROOT and CAP_SYS_ADMIN; effective set lacks CAP_SYS_CHROOT (uid 0 alone does not count on the bridge)',
    );
  });
  it('any: RLIMIT_NPROC bypass accepts CAP_SYS_RESOURCE or CAP_SYS_ADMIN', () => {
    const pr = jail();
    const pl = P('PRIV_PROC_LIMIT');
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_SYS_RESOURCE'))), pl))).toBe(true);
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_SYS_ADMIN'))), pl))).toBe(true);
    expect(codeAllowed(privCheck(root(pr, CapSet.of(CAP('CAP_KILL'))), pl))).toBe(false);
  });
});

describe('priv_check stages (native FreeBSD credentials)', () => {
  it('PRIV_VFS_LOOKUP takes the fast path without a policy and the slow path with one', () => {
    const d = explainPrivCheck(nativeCred(jail(), 0), P('PRIV_VFS_LOOKUP'));
    expect(d.stage).toBe('fast-path');
    expect(d.allowed).toBe(true);
    const withPolicy = explainPrivCheck(nativeCred(jail({}, makePrivPolicy({ name: 'p' })), 0), P('PRIV_VFS_LOOKUP'));
    expect(withPolicy.stage).toBe('superuser');
    expect(explainPrivCheck(nativeCred(jail(), 1000), P('PRIV_VFS_LOOKUP')).stage).toBe('fast-path');
  });
  it('PRIV_VFS_GENERATION is refused to jailed credentials on the fast path', () => {
    const d = explainPrivCheck(nativeCred(jail(), 0), P('PRIV_VFS_GENERATION'));
    expect(d.allowed).toBe(false);
    expect(d.stage).toBe('fast-path');
    expect(d.reason).toMatch(/refused to jailed credentials/);
    expect(codeAllowed(privCheck(nativeCred(jail({ jailed: '0' }), 0), P('PRIV_VFS_GENERATION')))).toBe(true);
  });
  it('PRIV_VFS_READ_DIR passes the jail filter but is refused to jailed root at the superuser step', () => {
    const d = explainPrivCheck(nativeCred(jail(), 0), P('PRIV_VFS_READ_DIR'));
    expect(d.allowed).toBe(false);
    expect(d.chain[1]).toMatch(/always allowed in a jail/);
    expect(d.chain[2]).toMatch(/refused to jailed root/);
    expect(codeAllowed(privCheck(nativeCred(jail({ jailed: '0' }), 0), P('PRIV_VFS_READ_DIR')))).toBe(true);
  });
  it('MAXFILES, MAXPROC and PROC_LIMIT look at the real uid', () => {
    const host = jail({ jailed: '0' });
    for (const n of ['PRIV_MAXFILES', 'PRIV_MAXPROC', 'PRIV_PROC_LIMIT']) {
      expect(codeAllowed(privCheck(nativeCred(host, 0, 1000), P(n))), n).toBe(false);
      expect(codeAllowed(privCheck(nativeCred(host, 1000, 0), P(n))), n).toBe(true);
    }
    expect(codeAllowed(privCheck(nativeCred(host, 0, 1000), P('PRIV_ACCT')))).toBe(true);
    expect(explainPrivCheck(nativeCred(host, 0, 1000), P('PRIV_MAXPROC')).chain[2]).toBe(
      'superuser: real uid is 1000, not 0',
    );
  });
  it('unprivileged mlock/msgbuf grants run after the jail filter, so the jail blocks them for everyone', () => {
    const user = (pr: ReturnType<typeof jail>) => nativeCred(pr, 1000);
    const host = jail({ jailed: '0' });
    expect(explainPrivCheck(user(host), P('PRIV_VM_MLOCK')).stage).toBe('sysctl');
    expect(explainPrivCheck(user(host), P('PRIV_MSGBUF')).stage).toBe('sysctl');
    const j = jail();
    expect(explainPrivCheck(user(j), P('PRIV_VM_MLOCK')).stage).toBe('jail');
    expect(explainPrivCheck(nativeCred(j, 0), P('PRIV_VM_MLOCK')).stage).toBe('jail');
    expect(explainPrivCheck(user(jail({ 'allow.mlock': '1' })), P('PRIV_VM_MLOCK')).stage).toBe('sysctl');
    expect(
      explainPrivCheck(user(jail({ jailed: '0', 'security.bsd.unprivileged_mlock': '0' })), P('PRIV_VM_MLOCK')).stage,
    ).toBe('superuser');
  });
  it('grants KMEM_READ to anyone and DEBUG_UNPRIV per allow.unprivileged_proc_debug', () => {
    expect(explainPrivCheck(nativeCred(jail(), 1000), P('PRIV_KMEM_READ')).stage).toBe('grant');
    expect(explainPrivCheck(nativeCred(jail(), 1000), P('PRIV_DEBUG_UNPRIV')).stage).toBe('grant');
    const off = jail({ 'allow.unprivileged_proc_debug': '0' });
    expect(explainPrivCheck(nativeCred(off, 1000), P('PRIV_DEBUG_UNPRIV')).stage).toBe('superuser');
  });
  it('policy veto runs before the jail filter; policy grant runs last and cannot beat the jail', () => {
    const pol = makePrivPolicy({
      name: 'web',
      deny: [P('PRIV_CRED_SETUID')],
      grant: [P('PRIV_NETINET_RESERVEDPORT'), P('PRIV_NETINET_RAW')],
      explain: (p) => (p === P('PRIV_CRED_SETUID') ? 'deny at web.yaml:3:5' : undefined),
    });
    const pr = jail({}, pol);
    const veto = explainPrivCheck(nativeCred(pr, 0), P('PRIV_CRED_SETUID'));
    expect(veto.stage).toBe('policy');
    expect(veto.reason).toBe('policy: profile web vetoes PRIV_CRED_SETUID (deny at web.yaml:3:5): EPERM');
    const grant = explainPrivCheck(nativeCred(pr, 1000), P('PRIV_NETINET_RESERVEDPORT'));
    expect(grant.stage).toBe('policy-grant');
    expect(grant.allowed).toBe(true);
    expect(explainPrivCheck(nativeCred(pr, 1000), P('PRIV_NETINET_RAW')).stage).toBe('jail');
  });
  it('a profile capability mask removes capabilities from the capability stage', () => {
    const pol = makePrivPolicy({ name: 'noraw', capAllowLo: FULL.remove(CAP('CAP_NET_RAW')).lo, capAllowHi: FULL.hi });
    const d = explainPrivCheck(root(jail({ vnet: 'new' }, pol)), P('PRIV_NETINET_RAW'));
    expect(d.allowed).toBe(false);
    expect(d.chain[2]).toMatch(/held, but profile noraw does not allow it/);
  });
  it('rejects numbers outside PRIV_VALID', () => {
    const c = nativeCred(jail({ jailed: '0' }), 0);
    for (const bad of [-1, 0, 1, 711, 1023, 5000, 3.5]) expect(privCheck(c, bad), String(bad)).toBe(CODE_INVALID);
    expect(explainPrivCheck(c, 0).stage).toBe('invalid');
    expect(codeErrno(CODE_INVALID)).toBe(22);
  });
});

describe('priv_check invariants', () => {
  const paramsArb = fc.record({
    jailed: fc.constantFrom('0', '1', '1', '1'),
    vnet: fc.constantFrom('new', 'inherit'),
    enforce_statfs: fc.constantFrom('0', '1', '2'),
    'allow.suser': fc.constantFrom('0', '1', '1'),
    'allow.raw_sockets': fc.constantFrom('0', '1'),
    'allow.mount': fc.constantFrom('0', '1'),
    'allow.mlock': fc.constantFrom('0', '1'),
    'allow.read_msgbuf': fc.constantFrom('0', '1'),
    'allow.nfsd': fc.constantFrom('0', '1'),
    root_is_mountpoint: fc.constantFrom('0', '1'),
    'allow.unprivileged_proc_debug': fc.constantFrom('0', '1'),
  });
  const credArb = fc.record({
    uid: fc.constantFrom(0, 1000),
    ruid: fc.constantFrom(0, 1000),
    lo: fc.oneof(fc.constant(0xffffffff), fc.constant(0), fc.integer({ min: 0, max: 0xffffffff })),
    hi: fc.integer({ min: 0, max: 0x1ff }),
    bridge: fc.boolean(),
    withPolicy: fc.boolean(),
  });
  const numbers = [...new Set(PRIVS.map((p) => p.number))];
  it('explainPrivCheck agrees with privCheck, and an allowed privilege always passed the jail and the policy', () => {
    fc.assert(
      fc.property(paramsArb, credArb, (params, c) => {
        const cfg = makeJailConfig(params);
        const pol = c.withPolicy
          ? makePrivPolicy({ name: 'p', deny: [P('PRIV_CRED_SETGID')], grant: [P('PRIV_NETINET_RAW'), P('PRIV_ACCT')] })
          : undefined;
        const pr = compilePrison(cfg, pol);
        const cred = c.bridge ? bridgeCred(pr, c.uid, c.lo, c.hi, c.ruid) : nativeCred(pr, c.uid, c.ruid);
        for (const p of numbers) {
          const code = privCheck(cred, p);
          const d = explainPrivCheck(cred, p);
          expect(d.code).toBe(code);
          expect(d.stage).toBe(STAGE_NAMES[codeStage(code)]);
          expect(d.chain.length).toBeGreaterThan(0);
          if (d.allowed && d.stage !== 'fast-path') expect(prisonPrivCheck(cfg, p)).toBe(true);
          if (d.allowed && pol) expect(pol.privVerdicts[p]).not.toBe(1);
          if (d.allowed && (d.stage === 'superuser' || d.stage === 'capability')) expect(cfg.suser).toBe(true);
        }
      }),
      { numRuns: 40 },
    );
  });
});
