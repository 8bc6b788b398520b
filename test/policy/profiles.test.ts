/** The stock profiles in policies/: each validates, and their sets carry the documented masks. */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capByName } from '../../src/caps/catalog.js';
import { CAP_ALLOW, CAP_DENY, loadProfile } from '../../src/policy/index.js';
import { policiesDir } from '../../src/policy/paths.js';
import { privCatalog } from '../../src/policy/privdata.js';
import { POLICY_DENY, POLICY_GRANT, POLICY_NONE } from '../../src/priv/policy-hook.js';

const dir = policiesDir();
const load = (n: string) => loadProfile(join(dir, `${n}.yaml`));
const priv = (n: string) => privCatalog().byName.get(n)!;
const cap = (n: string) => capByName(n)!;

describe('stock profiles', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  it('are the seven documented ones', () => {
    expect(files.sort()).toEqual(
      ['docker-default', 'k8s-restricted', 'linux-kmod-build', 'nginx', 'ping', 'podman-default', 'strict'].map(
        (n) => `${n}.yaml`,
      ),
    );
  });
  for (const f of files) {
    it(`${f} validates with no warnings in strict mode`, () => {
      const p = loadProfile(join(dir, f), { strict: true });
      expect(p.name).toBe(f.replace(/\.yaml$/, ''));
      expect(p.profile.warnings).toEqual([]);
    });
  }

  it("docker-default is Docker's 14 (0xa80425fb) in bounding, permitted and effective", () => {
    const p = load('docker-default');
    for (const s of ['bounding', 'permitted', 'effective'] as const) {
      expect(p.profile.sets[s].toHex()).toBe('00000000a80425fb');
      expect(p.profile.sets[s].size).toBe(14);
    }
    expect(p.profile.sets.inheritable.isEmpty()).toBe(true);
    expect([p.capAllowLo, p.capAllowHi]).toEqual([0xa80425fb, 0]);
    expect(p.decideCap(cap('NET_RAW'))).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('SYS_ADMIN'))).toBe(CAP_DENY);
  });

  it('podman-default is 11 caps (0x800405fb) via extends + drop', () => {
    const p = load('podman-default');
    expect(p.profile.sets.bounding.toHex()).toBe('00000000800405fb');
    expect(p.profile.sets.effective.size).toBe(11);
    expect(p.profile.files.map((f) => f.split('/').at(-1))).toEqual(['docker-default.yaml', 'podman-default.yaml']);
    expect(p.decideCap(cap('NET_RAW'))).toBe(CAP_DENY);
  });

  it('k8s-restricted drops ALL and adds only NET_BIND_SERVICE (0x400)', () => {
    const p = load('k8s-restricted');
    for (const s of ['bounding', 'permitted', 'effective'] as const)
      expect(p.profile.sets[s].toHex()).toBe('0000000000000400');
    expect(p.privVerdicts[priv('PRIV_NETINET_RESERVEDPORT')]).toBe(POLICY_GRANT);
    expect(p.privVerdicts[priv('PRIV_NETINET_RAW')]).toBe(POLICY_DENY);
  });

  it('ping allows NET_RAW only, and PRIV_NETINET_RAW only from socket()', () => {
    const p = load('ping');
    expect(p.profile.sets.bounding.toHex()).toBe('0000000000002000');
    expect(p.profile.sets.effective.toHex()).toBe('0000000000002000');
    expect(p.decidePriv(priv('PRIV_NETINET_RAW'), 0, 'socket')).toBe(POLICY_GRANT);
    expect(p.decidePriv(priv('PRIV_NETINET_RAW'), 0, 'bind')).toBe(POLICY_DENY);
    // priv_check's table cannot see the syscall: outcomes disagree, so no verdict either way.
    expect(p.privVerdicts[priv('PRIV_NETINET_RAW')]).toBe(POLICY_NONE);
    expect(p.privVerdicts[priv('PRIV_VFS_MOUNT')]).toBe(POLICY_DENY);
  });

  it('nginx gives root its six caps and workers none', () => {
    const p = load('nginx');
    expect(p.profile.sets.bounding.toHex()).toBe('00000000000004e3');
    expect(p.decideCap(cap('NET_BIND_SERVICE'), 0)).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('NET_BIND_SERVICE'), 101)).toBe(CAP_DENY);
    expect(p.decideCap(cap('SETUID'), 0)).toBe(CAP_ALLOW);
    expect(p.decideCap(cap('SYS_ADMIN'), 0)).toBe(CAP_DENY);
    expect(p.audit.rateLimit).toEqual({ perSecond: 20, burst: 50 });
  });

  it('linux-kmod-build builds but never loads modules', () => {
    const p = load('linux-kmod-build');
    expect(p.profile.target).toBe('chroot');
    expect(p.profile.sets.bounding.toHex()).toBe('00000000000400fb');
    expect(p.decideCap(cap('SYS_MODULE'))).toBe(CAP_DENY);
    expect(p.decideCap(cap('CHOWN'))).toBe(CAP_ALLOW);
    expect(p.privVerdicts[priv('PRIV_KLD_LOAD')]).toBe(POLICY_DENY);
    expect(p.privVerdicts[priv('PRIV_VFS_MOUNT')]).toBe(POLICY_DENY);
    expect(p.decidePriv(priv('PRIV_VFS_CHROOT'), 0, 'chroot')).toBe(POLICY_GRANT);
    expect(p.decidePriv(priv('PRIV_VFS_CHROOT'), 1000, 'chroot')).toBe(POLICY_NONE);
  });

  it('strict allows nothing and vetoes every privilege', () => {
    const p = load('strict');
    expect([p.capAllowLo, p.capAllowHi]).toEqual([0, 0]);
    for (const s of Object.values(p.profile.sets)) expect(s.isEmpty()).toBe(true);
    for (const [, n] of privCatalog().byName) expect(p.privVerdicts[n]).toBe(POLICY_DENY);
  });
});
