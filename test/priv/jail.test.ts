import { describe, expect, it } from 'vitest';
import { PRIVS, privByName } from '../../src/priv/catalog.js';
import {
  JAIL_PARAMS,
  JAIL_RULES,
  jailRuleFor,
  makeJailConfig,
  nonDefaultParams,
  parseJailParamArgs,
  prisonPrivCheck,
} from '../../src/priv/jail.js';

const P = (n: string) => privByName(n)!.number;

describe('jail parameters', () => {
  it('has FreeBSD defaults: JAIL_DEFAULT_ALLOW, enforce_statfs=2, no vnet', () => {
    const cfg = makeJailConfig();
    expect(cfg.jailed).toBe(true);
    expect(cfg.enforceStatfs).toBe(2);
    expect(cfg.vnet).toBe(false);
    expect(cfg.securelevel).toBe(-1);
    expect(cfg.childrenMax).toBe(0);
    expect(cfg.get('persist')).toBe(0);
    const on = JAIL_PARAMS.filter((p) => p.name.startsWith('allow.') && p.default === 1).map((p) => p.name);
    expect(on.sort()).toEqual(
      ['allow.reserved_ports', 'allow.set_hostname', 'allow.suser', 'allow.unprivileged_proc_debug'].sort(),
    );
    expect(JAIL_PARAMS.filter((p) => p.name.startsWith('allow.'))).toHaveLength(32);
    expect(nonDefaultParams(cfg)).toEqual([]);
  });
  it('parses K=V, bare booleans, jail(8) negation and vnet=new', () => {
    const args = parseJailParamArgs(['allow.raw_sockets', 'allow.nosuser', 'vnet=new', 'enforce_statfs=1']);
    expect(args).toEqual({ 'allow.raw_sockets': '1', 'allow.suser': '0', vnet: 'new', enforce_statfs: '1' });
    const cfg = makeJailConfig(args);
    expect(cfg.vnet).toBe(true);
    expect(cfg.suser).toBe(false);
    expect(nonDefaultParams(cfg).sort()).toEqual(
      ['allow.raw_sockets=1', 'allow.suser=0', 'enforce_statfs=1', 'vnet=1'].sort(),
    );
  });
  it('rejects unknown parameters with a did-you-mean and bad values', () => {
    expect(() => makeJailConfig({ 'allow.raw_socket': '1' })).toThrow(/did you mean allow\.raw_sockets\?/);
    expect(() => makeJailConfig({ 'allow.raw_sockets': 'maybe' })).toThrow(/boolean/);
    expect(() => makeJailConfig({ enforce_statfs: '3' })).toThrow(/outside 0\.\.2/);
    expect(() => makeJailConfig({ securelevel: 'x' })).toThrow(/integer/);
    expect(() => parseJailParamArgs(['=1'])).toThrow(/not K=V/);
    expect(() => parseJailParamArgs(['enforce_statfs'])).toThrow(/needs a value/);
  });
  it('reads suser and proc-debug from the sysctls in prison0', () => {
    const host = makeJailConfig({ jailed: '0', 'security.bsd.suser_enabled': '0', 'allow.suser': '1' });
    expect(host.suser).toBe(false);
    const jail = makeJailConfig({ 'security.bsd.suser_enabled': '0' });
    expect(jail.suser).toBe(true);
  });
});

describe('prison_priv_check rules', () => {
  it('has one rule per PRIV_* name: 60 always, 70 param, 116 never', () => {
    expect(JAIL_RULES).toHaveLength(246);
    expect(new Set(JAIL_RULES.map((r) => r.privName))).toEqual(new Set(PRIVS.map((p) => p.name)));
    const count = (k: string) => JAIL_RULES.filter((r) => r.rule === k).length;
    expect([count('always'), count('param'), count('never')]).toEqual([60, 70, 116]);
  });
  it('passes everything for unjailed credentials', () => {
    const host = makeJailConfig({ jailed: '0' });
    for (const p of PRIVS) expect(prisonPrivCheck(host, p.number), p.name).toBe(true);
  });
  it('gives a vnet jail raw sockets and routing without allow.raw_sockets / allow.routing', () => {
    const vnet = makeJailConfig({ vnet: 'new' });
    expect(prisonPrivCheck(vnet, P('PRIV_NETINET_RAW'))).toBe(true);
    expect(prisonPrivCheck(vnet, P('PRIV_NET_ROUTE'))).toBe(true);
    expect(prisonPrivCheck(vnet, P('PRIV_NET_RAW'))).toBe(true);
    expect(prisonPrivCheck(vnet, P('PRIV_NET_VXLAN'))).toBe(false);
    expect(prisonPrivCheck(vnet, P('PRIV_NETINET_HASHKEY'))).toBe(false);
    const plain = makeJailConfig();
    expect(prisonPrivCheck(plain, P('PRIV_NETINET_RAW'))).toBe(false);
    expect(prisonPrivCheck(makeJailConfig({ 'allow.routing': '1' }), P('PRIV_NET_ROUTE'))).toBe(true);
  });
  it('needs allow.mount and enforce_statfs<2 for mount', () => {
    const m = P('PRIV_VFS_MOUNT');
    expect(prisonPrivCheck(makeJailConfig({ 'allow.mount': '1' }), m)).toBe(false);
    expect(prisonPrivCheck(makeJailConfig({ 'allow.mount': '1', enforce_statfs: '1' }), m)).toBe(true);
    expect(prisonPrivCheck(makeJailConfig({ enforce_statfs: '0' }), m)).toBe(false);
  });
  it('needs vnet, allow.nfsd, enforce_statfs>0 and a mount-point root for nfsd', () => {
    const nfsd = P('PRIV_NFS_DAEMON');
    const all = { vnet: 'new', 'allow.nfsd': '1', enforce_statfs: '1', root_is_mountpoint: '1' };
    expect(prisonPrivCheck(makeJailConfig(all), nfsd)).toBe(true);
    expect(prisonPrivCheck(makeJailConfig({ ...all, enforce_statfs: '0' }), nfsd)).toBe(false);
    expect(prisonPrivCheck(makeJailConfig({ ...all, root_is_mountpoint: '0' }), nfsd)).toBe(false);
    expect(prisonPrivCheck(makeJailConfig({ ...all, vnet: 'inherit' }), nfsd)).toBe(false);
    expect(prisonPrivCheck(makeJailConfig(all), P('PRIV_VFS_GETFH'))).toBe(true);
  });
  it('never passes mknod of devices, KLD, reboot or PRIV_SEM_WRITE in a jail', () => {
    const open = makeJailConfig(
      Object.fromEntries(JAIL_PARAMS.filter((p) => p.kind === 'bool' && p.name !== 'jailed').map((p) => [p.name, '1'])),
    );
    for (const n of ['PRIV_VFS_MKNOD_DEV', 'PRIV_KLD_LOAD', 'PRIV_REBOOT', 'PRIV_SEM_WRITE', 'PRIV_MODULE0']) {
      expect(jailRuleFor(P(n))!.rule, n).toBe('never');
      expect(prisonPrivCheck(open, P(n)), n).toBe(false);
    }
  });
  it('uses the fixed PRIV_KTRACE rule (always), not the fall-through into allow.setaudit', () => {
    expect(jailRuleFor(P('PRIV_KTRACE'))!.rule).toBe('always');
  });
  it('gates mlock and msgbuf on allow.mlock / allow.read_msgbuf', () => {
    expect(prisonPrivCheck(makeJailConfig(), P('PRIV_VM_MLOCK'))).toBe(false);
    expect(prisonPrivCheck(makeJailConfig({ 'allow.mlock': '1' }), P('PRIV_VM_MLOCK'))).toBe(true);
    expect(prisonPrivCheck(makeJailConfig(), P('PRIV_MSGBUF'))).toBe(false);
  });
});
